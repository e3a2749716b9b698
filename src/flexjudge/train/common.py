"""What SFT (:mod:`.sft`) and DPO (:mod:`.dpo`) training share: the hardware rules of a TRL
config, saving a complete checkpoint, and the run record's facts."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from flexjudge.train.sft import LoraSettings


def world_size() -> int:
    """Processes training together (``WORLD_SIZE`` from torchrun/accelerate; 1 when absent)."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1") or 1))


def hardware_settings() -> dict[str, Any]:
    """TRL config fields for the hardware present: bf16 and gradient checkpointing only on
    CUDA (TRL turns both on by default, and neither works well on a CPU).

    Several processes without CUDA (``torchrun``/``accelerate launch`` set ``WORLD_SIZE``) train
    data-parallel over gloo: accelerate's CPU path (``MULTI_CPU``) is only taken with
    ``use_cpu=True``; ``ddp_backend="gloo"`` alone leaves transformers with a process group but
    no DDP wrapper, each rank then training on its own. Under DeepSpeed (which has its own CPU
    handling) only the gloo backend is set."""
    cuda = torch.cuda.is_available()
    params: dict[str, Any] = dict(
        bf16=cuda and torch.cuda.is_bf16_supported(), gradient_checkpointing=cuda
    )
    if not cuda and world_size() > 1:
        params["ddp_backend"] = "gloo"
        if os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() != "true":
            params["use_cpu"] = True
    return params


def save_trained(trainer: Any, output_dir: Path, lora: LoraSettings | None) -> bool:
    """Save the trained model: merged into a complete checkpoint, or as it is (a PEFT adapter
    when LoRA is not merged). Returns whether the output is an adapter only."""
    if lora is not None and lora.merge:
        if trainer.is_world_process_zero():
            merged = trainer.model.merge_and_unload()
            merged.save_pretrained(str(output_dir), safe_serialization=True)
        return False
    trainer.save_model(str(output_dir))
    return lora is not None


def data_sha256(rows: Iterable[Any]) -> str:
    """A hash of the training rows as JSON (key order fixed), recorded with the run."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def versions() -> dict[str, str]:
    import transformers
    import trl

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "python": platform.python_version(),
    }


def write_record(
    path: Path,
    *,
    model: tuple[str, str | Path],
    rows: Iterable[Any],
    args: Any,
    recipe_keys: Iterable[str],
    result: Any,
    lora: Any,
    **extra: Any,
) -> None:
    """The run record beside a checkpoint, the same for SFT and DPO: the model trained
    (``(field name, value)``), the data hash, the recipe as the trainer used it, the batch
    arithmetic, LoRA, parameter counts, versions, time, every logged step - and ``extra``."""
    from dataclasses import asdict

    from flexjudge.io import atomic_write_text

    record = {
        model[0]: str(model[1]),
        "data_sha256": data_sha256(rows),
        "recipe": {k: getattr(args, k) for k in recipe_keys},
        "effective_batch_size": result.effective_batch_size,
        "world_size": args.world_size,
        "lora": asdict(lora) if lora is not None else None,
        "adapter_only": result.adapter_only,
        "parameters": {
            "total": result.total_parameters,
            "trainable": result.trainable_parameters,
            "frozen_media": result.frozen_media_parameters,
        },
        "versions": versions(),
        "train_seconds": round(result.seconds, 2),
        "log_history": result.log_history,
        **extra,
    }
    atomic_write_text(path, json.dumps(record, indent=2, default=str))
