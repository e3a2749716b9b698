"""Text-only supervised fine-tuning of a judge with TRL (prompt-completion data, loss on the
completion only). The demo trains through this code; so do full-size runs.

The default recipe is the paper's (App. B.2): lr 1e-5, one epoch, max length 4096, cosine
schedule with 5 % warmup, weight decay 1e-4, Adam betas (0.9, 0.95), bf16 on GPUs.

Options beyond the paper: LoRA through PEFT (:class:`LoraSettings`; the paper's Flex-VL-32B was
trained with LoRA), on the language model's linear layers only, optionally merged into a
complete checkpoint; and freezing the media towers (``freeze_vision``), which get no useful
gradient from text-only data but would otherwise hold optimizer state.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoProcessor

from flexjudge.engines.model_classes import load_model_class
from flexjudge.errors import ConfigError, InputError, ModelLoadError
from flexjudge.train.common import hardware_settings, save_trained, write_record
from flexjudge.train.progress import quiet_trainer

log = logging.getLogger(__name__)

PAPER_RECIPE: dict[str, Any] = dict(
    learning_rate=1e-5,
    num_train_epochs=1,
    max_length=4096,
    lr_scheduler_type="cosine",
    warmup_steps=0.05,  # a float in [0, 1) is a ratio of total steps (transformers 5)
    weight_decay=1e-4,
    adam_beta1=0.9,
    adam_beta2=0.95,
    per_device_train_batch_size=2,
    gradient_accumulation_steps=1,
)


#: Attribute names of media encoders and projectors in multimodal checkpoints (Qwen2.5-VL's
#: ``visual``, Qwen2.5-Omni's ``audio_tower``, LLaVA-style ``vision_tower`` and projector).
MEDIA_MODULES = (
    "visual",
    "vision_tower",
    "vision_model",
    "audio_tower",
    "audio_model",
    "multi_modal_projector",
    "mm_projector",
)

#: The language model's linear layers in LLaMA/Qwen-style blocks: LoRA's default targets.
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraSettings:
    """LoRA through PEFT. Adapters go on the linear layers named in ``targets`` outside the
    media towers (the vision MLP also has ``gate_proj``/``up_proj``/``down_proj``).
    ``merge=True`` folds them into the weights and saves a complete checkpoint that
    :class:`~flexjudge.Judge` loads; otherwise the output folder holds a PEFT adapter."""

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: tuple[str, ...] = LORA_TARGETS
    merge: bool = False

    def __post_init__(self) -> None:
        if self.rank < 1 or self.alpha < 1:
            raise ConfigError(
                f"LoRA rank and alpha must be positive, got {self.rank}, {self.alpha}"
            )
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"LoRA dropout must be in [0, 1), got {self.dropout}")
        if not self.targets:
            raise ConfigError("LoRA needs at least one target module name")


@dataclass
class TrainResult:
    output_dir: Path
    n_examples: int
    n_dropped: int
    """Examples dropped because they would be truncated before their last ``</answer>``."""
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    train_tokens: int = 0
    effective_batch_size: int = 0
    """Examples per optimizer step: per-device batch x gradient accumulation x processes."""
    trainable_parameters: int = 0
    total_parameters: int = 0
    frozen_media_parameters: int = 0
    adapter_only: bool = False
    """True when the output is a PEFT adapter (LoRA without merge), not a full checkpoint."""
    log_history: list[dict[str, Any]] = field(default_factory=list)
    """Every logged step's metrics (loss, learning rate, gradient norm...), as the trainer
    recorded them; written into the run record, never printed."""


def effective_batch_size(per_device: int, accumulation: int, world_size: int | None = None) -> int:
    """Examples per optimizer step. ``world_size`` defaults to the launcher's ``WORLD_SIZE``
    (``accelerate launch``/``torchrun`` set it; 1 when absent)."""
    if world_size is None:
        world_size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    return per_device * accumulation * max(1, world_size)


def sft_config(output_dir: str | Path, **overrides: Any) -> Any:
    """A TRL ``SFTConfig`` with the paper's recipe, adjusted for the hardware present
    (:func:`flexjudge.train.common.hardware_settings`: bf16 and gradient checkpointing only
    on CUDA, gloo data parallelism on CPUs)."""
    from trl import SFTConfig

    params: dict[str, Any] = dict(
        PAPER_RECIPE,
        output_dir=str(output_dir),
        completion_only_loss=True,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        seed=0,
        dataset_num_proc=None,
        **hardware_settings(),
    )
    params.update(overrides)
    return SFTConfig(**params)


def _token_lengths(tokenizer: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    lengths = []
    for row in rows:
        ids = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        lengths.append(len(ids))
    return lengths


def media_module_names(model: Any) -> list[str]:
    """Qualified names of the outermost media towers and projectors in ``model``."""
    found: list[str] = []
    for name, _ in model.named_modules():
        if name.rsplit(".", 1)[-1] in MEDIA_MODULES and not any(
            name.startswith(prefix + ".") for prefix in found
        ):
            found.append(name)
    return found


def _under(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def freeze_media_towers(model: Any) -> int:
    """Set ``requires_grad=False`` on every media tower/projector parameter; returns how many
    parameters (elements) were frozen."""
    prefixes = media_module_names(model)
    frozen = 0
    for name, param in model.named_parameters():
        if _under(name, prefixes):
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


def lora_config(model: Any, settings: LoraSettings) -> Any:
    """A PEFT ``LoraConfig`` whose targets are the exact names of the language model's linear
    layers (leaf name in ``settings.targets``, outside every media tower)."""
    from peft import LoraConfig

    media = media_module_names(model)
    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
        and name.rsplit(".", 1)[-1] in settings.targets
        and not _under(name, media)
    ]
    if not names:
        raise ConfigError(
            f"no linear layer named {', '.join(settings.targets)} outside the media "
            "towers; pass --lora-targets with this model's layer names"
        )
    return LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=names,
        task_type="CAUSAL_LM",
        bias="none",
    )


def _prompt_completion(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only ``prompt`` and ``completion``: other keys (e.g. curation metadata) would become
    dataset columns that TRL's collator cannot batch."""
    out = []
    for i, row in enumerate(rows):
        if "prompt" not in row or "completion" not in row:
            raise InputError(f"training row {i + 1} lacks 'prompt' or 'completion'")
        out.append({"prompt": row["prompt"], "completion": row["completion"]})
    return out


def _load_base(base_model: str | Path) -> tuple[Any, Any, Any]:
    """The base checkpoint's config, processor and tokenizer (with a chat template)."""
    try:
        config = AutoConfig.from_pretrained(str(base_model))
        processor = AutoProcessor.from_pretrained(str(base_model))
    except Exception as exc:
        raise ModelLoadError(f"cannot load base model {str(base_model)!r}: {exc}") from exc
    tokenizer = getattr(processor, "tokenizer", processor)
    if getattr(tokenizer, "chat_template", None) is None:
        raise ModelLoadError(f"base model {str(base_model)!r} has no chat template")
    return config, processor, tokenizer


def _fitting(
    rows: list[dict[str, Any]], tokenizer: Any, max_length: int | None
) -> list[tuple[dict[str, Any], int]]:
    """The rows that fit ``max_length`` tokens, with their lengths; the others are dropped and
    reported (cut, they would lose their closing answer)."""
    lengths = _token_lengths(tokenizer, rows)
    kept = [(r, n) for r, n in zip(rows, lengths) if max_length is None or n <= max_length]
    dropped = len(rows) - len(kept)
    if dropped:
        log.warning(
            "dropping %d of %d examples longer than max_length=%s (they would lose "
            "their closing answer)",
            dropped,
            len(rows),
            max_length,
        )
    if not kept:
        raise InputError(f"all {len(rows)} examples exceed max_length={max_length}")
    return kept


def train_sft(
    base_model: str | Path,
    rows: Sequence[dict[str, Any]],
    output_dir: str | Path,
    *,
    lora: LoraSettings | None = None,
    freeze_vision: bool = False,
    log_every: int | None = None,
    quiet: bool = False,
    **overrides: Any,
) -> TrainResult:
    """Fine-tune ``base_model`` on prompt-completion ``rows`` and write a complete checkpoint
    (weights, processor with chat template, generation config) to ``output_dir`` (a PEFT
    adapter and the processor instead, with ``lora`` unmerged). ``overrides`` are
    ``SFTConfig`` fields. Rows longer than ``max_length`` are dropped and reported. The loss
    goes to stderr every ``log_every`` steps (:mod:`flexjudge.train.progress`), nothing at
    all with ``quiet``."""
    from datasets import Dataset
    from trl import SFTTrainer

    if not rows:
        raise InputError("no training examples")
    pc_rows = _prompt_completion(rows)
    output_dir = Path(output_dir)
    args = sft_config(output_dir, **overrides)
    config, processor, tokenizer = _load_base(base_model)
    kept = _fitting(pc_rows, tokenizer, args.max_length)
    keep = [r for r, _ in kept]
    model = load_model_class(config).from_pretrained(str(base_model), dtype=torch.float32)
    total = sum(p.numel() for p in model.parameters())
    frozen = freeze_media_towers(model) if freeze_vision else 0
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(keep),
        processing_class=tokenizer,
        peft_config=lora_config(model, lora) if lora is not None else None,
    )
    quiet_trainer(trainer, log_every, quiet=quiet)
    trained: Any = trainer.model  # PEFT-wrapped when LoRA is on
    trainable = sum(int(p.numel()) for p in trained.parameters() if p.requires_grad)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    adapter_only = save_trained(trainer, output_dir, lora)
    result = TrainResult(
        output_dir,
        len(keep),
        len(pc_rows) - len(keep),
        [float(h["loss"]) for h in trainer.state.log_history if "loss" in h],
        seconds,
        int(sum(n for _, n in kept) * float(args.num_train_epochs)),
        effective_batch_size=effective_batch_size(
            args.per_device_train_batch_size, args.gradient_accumulation_steps, args.world_size
        ),
        trainable_parameters=trainable,
        total_parameters=total,
        frozen_media_parameters=frozen,
        adapter_only=adapter_only,
        log_history=list(trainer.state.log_history),
    )
    if trainer.is_world_process_zero():  # one writer under accelerate/torchrun
        if getattr(config, "model_type", "") == "qwen2_5_omni" and not adapter_only:
            _put_thinker_back(base_model, output_dir)
        processor.save_pretrained(str(output_dir))
        _write_record(output_dir, base_model, keep, args, result, lora)
    return result


def _put_thinker_back(base_model: str | Path, output_dir: Path) -> None:
    """The base was a full Qwen2.5-Omni checkpoint (thinker, talker, token2wav) and only its
    thinker was trained: write the trained thinker back into the full model, so that the output
    is again a full checkpoint (as the released Flex-Omni-7B is). Holds both in memory once."""
    from transformers import (
        Qwen2_5OmniForConditionalGeneration,
        Qwen2_5OmniThinkerForConditionalGeneration,
    )

    thinker = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(str(output_dir))
    full = Qwen2_5OmniForConditionalGeneration.from_pretrained(str(base_model), dtype=thinker.dtype)
    full.thinker.load_state_dict(thinker.state_dict())
    for stale in list(output_dir.glob("model*.safetensors")) + list(
        output_dir.glob("*.index.json")
    ):
        stale.unlink()  # the thinker-only shards; the full model writes its own
    full.save_pretrained(str(output_dir), safe_serialization=True)
    from transformers.utils import cached_file

    speakers = cached_file(str(base_model), "spk_dict.pt")  # the talker's speaker prompts
    if speakers is not None:
        shutil.copy(speakers, output_dir / "spk_dict.pt")


def _write_record(
    output_dir: Path,
    base_model: str | Path,
    rows: Sequence[dict[str, Any]],
    args: Any,
    result: TrainResult,
    lora: LoraSettings | None = None,
) -> None:
    """A short record of the run next to the checkpoint: data hash, recipe, versions, losses."""
    write_record(
        output_dir / "flexjudge_train.json",
        model=("base_model", base_model),
        rows=rows,
        args=args,
        recipe_keys=(*PAPER_RECIPE, "max_steps", "bf16", "seed"),
        result=result,
        lora=lora,
        n_examples=result.n_examples,
        n_dropped_too_long=result.n_dropped,
        losses=result.losses,
    )
