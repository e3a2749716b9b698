"""Training: text-only SFT of a judge on reasoning-first targets, and its recipe.

The names below are imported on first use, so that ``flexjudge --help`` and the recipe
declarations do not pay for torch and TRL.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainingExample": "flexjudge.train.data",
    "build_rows": "flexjudge.train.data",
    "read_rows": "flexjudge.train.data",
    "to_prompt_completion": "flexjudge.train.data",
    "write_rows": "flexjudge.train.data",
    "PAPER_RECIPE": "flexjudge.train.sft",
    "LoraSettings": "flexjudge.train.sft",
    "TrainResult": "flexjudge.train.sft",
    "effective_batch_size": "flexjudge.train.sft",
    "sft_config": "flexjudge.train.sft",
    "train_sft": "flexjudge.train.sft",
    "SFTRecipe": "flexjudge.train.recipe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flexjudge.train' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
