"""DPO of a policy on judge-labelled preference pairs (``flexjudge pairs`` output) with TRL's
``DPOTrainer``: the stage 3 of the paper's molecular case study, for any policy that
transformers loads, vision-language ones included.

The default recipe is the official stage-3 config (official-code.md §4.3): beta 0.1, lr 1e-5
with 100 warm-up steps and a cosine decay to 5e-6 (TRL's ``cosine_with_min_lr``; the official
scheduler decays per epoch, this one over all steps), weight decay 0.05, 3 epochs, 2 pairs per
device with 8 accumulation steps. The reference model is the policy as loaded (TRL builds it;
with LoRA, the adapters switched off). ``max_length`` is left unset (no truncation) for
vision-language policies, as TRL advises; text policies keep TRL's 1024. The hardware rules,
LoRA and freezing are those of ``flexjudge train`` (:mod:`flexjudge.train.common`,
:class:`~flexjudge.train.sft.LoraSettings`), and the output is again a complete checkpoint
(weights, processor with chat template, generation config) plus ``flexjudge_dpo.json``.

Data: each row needs ``prompt``, ``chosen`` and ``rejected`` (conversational or plain
strings) and, for image prompts, ``images`` (a list of paths; ``[]`` for a row without). Other
columns (the pair metadata) are left out of the training set. TRL's DPO takes images only:
rows whose prompts carry videos, audio or molecules are refused, naming the row.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoProcessor

from flexjudge.engines.model_classes import load_model_class, model_class_for
from flexjudge.errors import ConfigError, InputError, MediaError, ModelLoadError
from flexjudge.io import iter_json_objects
from flexjudge.train.common import hardware_settings, save_trained, write_record
from flexjudge.train.progress import quiet_trainer
from flexjudge.train.sft import LoraSettings, effective_batch_size, freeze_media_towers, lora_config

log = logging.getLogger(__name__)

STAGE3_RECIPE: dict[str, Any] = dict(
    beta=0.1,
    learning_rate=1e-5,
    num_train_epochs=3,
    lr_scheduler_type="cosine_with_min_lr",
    lr_scheduler_kwargs={"min_lr": 5e-6},
    warmup_steps=100,
    weight_decay=0.05,
    per_device_train_batch_size=2,
    gradient_accumulation_steps=8,
)
#: Columns TRL's DPOTrainer reads; the rest of a pairs file is metadata.
TRL_COLUMNS = ("prompt", "chosen", "rejected", "images")
RECORD_FILE = "flexjudge_dpo.json"
_UNTRAINABLE = ("videos", "audios", "molecules")
_LOGGED = ("loss", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected")


@dataclass
class DPOResult:
    output_dir: Path
    n_pairs: int
    history: dict[str, list[float]] = field(default_factory=dict)
    """Per logging step: loss, rewards/margins, rewards/accuracies, logps/chosen, logps/rejected."""
    before: dict[str, float] = field(default_factory=dict)
    """With ``measure``: TRL's evaluation of the pairs before training (eval_loss, margins...)."""
    after: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    effective_batch_size: int = 0
    trainable_parameters: int = 0
    total_parameters: int = 0
    frozen_media_parameters: int = 0
    adapter_only: bool = False
    log_history: list[dict[str, Any]] = field(default_factory=list)
    """Every logged step's metrics, as the trainer recorded them (in the run record)."""

    @property
    def losses(self) -> list[float]:
        return self.history.get("loss", [])


def dpo_config(output_dir: str | Path, *, vision: bool, **overrides: Any) -> Any:
    """A TRL ``DPOConfig`` with the stage-3 recipe and the hardware rules of training."""
    from trl import DPOConfig

    params: dict[str, Any] = dict(
        STAGE3_RECIPE,
        output_dir=str(output_dir),
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        seed=0,
        dataset_num_proc=None,
        **hardware_settings(),
    )
    if vision:
        params["max_length"] = None
    params.update(overrides)
    if params.get("lr_scheduler_type") != "cosine_with_min_lr" and "min_lr" in (
        params.get("lr_scheduler_kwargs") or {}
    ):
        if "lr_scheduler_kwargs" in overrides:
            raise ConfigError("--min-lr goes with --lr-scheduler cosine_with_min_lr")
        params.pop("lr_scheduler_kwargs")
    return DPOConfig(**params)


def _message_list(value: Any, role: str, where: str, name: str) -> Any:
    if isinstance(value, str):
        return value
    ok = (
        isinstance(value, list)
        and value
        and all(
            isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role")
            for m in value
        )
    )
    if not ok:
        raise InputError(f"{where}: {name} must be a string or a list of {{role, content}} turns")
    if role == "assistant" and any(m["role"] != "assistant" for m in value):
        raise InputError(f"{where}: {name} must hold assistant turns only")
    return value


def pair_rows(rows: Sequence[dict[str, Any]], *, where: str = "pairs") -> list[dict[str, Any]]:
    """The TRL columns of preference rows, checked (module rules); images as checked paths."""
    images = any("images" in r for r in rows)
    out = []
    for i, row in enumerate(rows):
        at = f"{where}, row {i + 1}"
        for key in _UNTRAINABLE:
            if row.get(key):
                raise InputError(
                    f"{at}: its prompt carries {key}; TRL's DPOTrainer trains on text and "
                    "images only"
                )
        clean = {
            "prompt": _message_list(row.get("prompt"), "any", at, "prompt"),
            "chosen": _message_list(row.get("chosen"), "assistant", at, "chosen"),
            "rejected": _message_list(row.get("rejected"), "assistant", at, "rejected"),
        }
        if images:
            pics = row.get("images") or []
            if not isinstance(pics, list):
                raise InputError(f"{at}: images must be a list of paths")
            for p in pics:
                if not isinstance(p, str) or not Path(p).is_file():
                    raise MediaError(f"{at}: image {p!r} is not a file")
            clean["images"] = pics
        out.append(clean)
    if not out:
        raise InputError(f"{where}: no preference pairs")
    return out


def read_pairs(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The TRL columns of a pairs file (``flexjudge pairs`` output), checked."""
    rows = [obj for _, obj in iter_json_objects(path, what="pairs file")]
    return pair_rows(rows, where=str(path))


def _history(log_history: Sequence[dict[str, Any]], prefix: str = "") -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for entry in log_history:
        for key in _LOGGED:
            if prefix + key in entry:
                out.setdefault(key, []).append(float(entry[prefix + key]))
    return out


def train_dpo(
    policy: str | Path,
    rows: Sequence[dict[str, Any]],
    output_dir: str | Path,
    *,
    lora: LoraSettings | None = None,
    freeze_vision: bool = False,
    measure: bool = False,
    log_every: int | None = None,
    quiet: bool = False,
    **overrides: Any,
) -> DPOResult:
    """Fine-tune ``policy`` with DPO on ``rows`` (module rules) and write a complete checkpoint
    to ``output_dir`` (a PEFT adapter and the processor with ``lora`` unmerged).
    ``overrides`` are ``DPOConfig`` fields; ``measure`` evaluates the pairs with TRL before and
    after training (loss, reward margins, chosen and rejected log-probabilities). The loss and
    reward margin go to stderr every ``log_every`` steps (:mod:`flexjudge.train.progress`),
    nothing with ``quiet``."""
    from datasets import Dataset
    from trl import DPOTrainer

    rows = pair_rows(list(rows))
    output_dir = Path(output_dir)
    try:
        config = AutoConfig.from_pretrained(str(policy))
        processor = AutoProcessor.from_pretrained(str(policy))
    except Exception as exc:
        raise ModelLoadError(f"cannot load policy {str(policy)!r}: {exc}") from exc
    vision = bool(model_class_for(config)[1] & {"image", "video"})
    if any(r.get("images") for r in rows) and not vision:
        raise ConfigError(f"the pairs carry images but {str(policy)!r} is a text-only model")
    args = dpo_config(output_dir, vision=vision, **overrides)
    model = load_model_class(config).from_pretrained(str(policy), dtype=torch.float32)
    total = sum(p.numel() for p in model.parameters())
    frozen = freeze_media_towers(model) if freeze_vision else 0
    dataset = Dataset.from_list(list(rows))
    trainer = DPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        eval_dataset=dataset if measure else None,
        processing_class=processor,
        peft_config=lora_config(model, lora) if lora is not None else None,
    )
    quiet_trainer(trainer, log_every, quiet=quiet)
    trained: Any = trainer.model
    trainable = sum(p.numel() for p in trained.parameters() if p.requires_grad)
    result = DPOResult(
        output_dir,
        len(rows),
        effective_batch_size=effective_batch_size(
            args.per_device_train_batch_size, args.gradient_accumulation_steps, args.world_size
        ),
        trainable_parameters=trainable,
        total_parameters=total,
        frozen_media_parameters=frozen,
    )
    if measure:
        result.before = {k: float(v) for k, v in trainer.evaluate().items()}
    start = time.perf_counter()
    trainer.train()
    result.seconds = time.perf_counter() - start
    result.log_history = list(trainer.state.log_history)
    result.history = _history([h for h in result.log_history if "eval_loss" not in h])
    if measure:
        result.after = {k: float(v) for k, v in trainer.evaluate().items()}
    result.adapter_only = save_trained(trainer, output_dir, lora)
    if trainer.is_world_process_zero():
        processor.save_pretrained(str(output_dir))
        _write_record(output_dir, policy, rows, args, result, lora)
    return result


def _write_record(
    output_dir: Path,
    policy: str | Path,
    rows: Sequence[dict[str, Any]],
    args: Any,
    result: DPOResult,
    lora: LoraSettings | None,
) -> None:
    write_record(
        output_dir / RECORD_FILE,
        model=("policy", policy),
        rows=rows,
        args=args,
        recipe_keys=(*STAGE3_RECIPE, "max_length", "max_steps", "bf16", "seed", "loss_type"),
        result=result,
        lora=lora,
        n_pairs=result.n_pairs,
        history=result.history,
        before=result.before,
        after=result.after,
    )
