"""Training: text-only SFT of a judge on reasoning-first targets."""

from flexjudge.train.data import TrainingExample, build_rows, to_prompt_completion
from flexjudge.train.sft import PAPER_RECIPE, TrainResult, sft_config, train_sft

__all__ = ["PAPER_RECIPE", "TrainResult", "TrainingExample", "build_rows", "sft_config",
           "to_prompt_completion", "train_sft"]
