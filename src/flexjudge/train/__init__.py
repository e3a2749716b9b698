"""Training: text-only SFT of a judge on reasoning-first targets."""

from flexjudge.train.data import (
    TrainingExample,
    build_rows,
    read_rows,
    to_prompt_completion,
    write_rows,
)
from flexjudge.train.sft import (
    PAPER_RECIPE,
    LoraSettings,
    TrainResult,
    effective_batch_size,
    sft_config,
    train_sft,
)

__all__ = [
    "PAPER_RECIPE",
    "LoraSettings",
    "TrainResult",
    "TrainingExample",
    "build_rows",
    "effective_batch_size",
    "read_rows",
    "sft_config",
    "to_prompt_completion",
    "train_sft",
    "write_rows",
]
