"""The training recipe's settings, declared once: the ``flexjudge train`` flags, the keys a
``--config`` YAML may set, and the TRL ``SFTConfig`` fields they fill come from these fields.
``None`` means "not set": the paper's recipe (:data:`~flexjudge.train.sft.PAPER_RECIPE`)
applies, as the help says."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from flexjudge.errors import ConfigError
from flexjudge.options import option, specs_of


@dataclass(frozen=True)
class SFTRecipe:
    """Options of ``flexjudge train`` beyond the model, data and output."""

    lr: float | None = option(None, "Learning rate [paper: 1e-5].", target="learning_rate")
    epochs: float | None = option(None, "Epochs [paper: 1].", target="num_train_epochs")
    max_steps: int | None = option(None, "Stop after N optimizer steps.", target="max_steps")
    max_length: int | None = option(
        None,
        "Longest row in tokens; longer rows are dropped and reported [paper: 4096].",
        target="max_length",
    )
    batch_size: int | None = option(
        None, "Per-device batch size [paper: 2].", target="per_device_train_batch_size"
    )
    grad_accum: int | None = option(
        None, "Gradient accumulation steps [1].", target="gradient_accumulation_steps"
    )
    # A float in [0, 1) is a ratio of the total steps (transformers 5).
    warmup_ratio: float | None = option(
        None, "Warmup share of steps [0.05].", target="warmup_steps"
    )
    lr_scheduler: str | None = option(None, "Schedule [cosine].", target="lr_scheduler_type")
    weight_decay: float | None = option(None, "[1e-4].", target="weight_decay")
    max_grad_norm: float | None = option(None, "Gradient clipping [1.0].", target="max_grad_norm")
    seed: int | None = option(None, "[0].", target="seed")
    gradient_checkpointing: bool | None = option(
        None, "[on with CUDA].", target="gradient_checkpointing"
    )
    report_to: str | None = option(
        None,
        "Send per-step metrics to tensorboard, wandb or all (TRL's report_to) [none; they are "
        "always in the checkpoint's flexjudge_train.json].",
        target="report_to",
    )
    log_every: int | None = option(
        None, "Print the loss to stderr every N steps [about 20 lines per run]."
    )
    lora: bool = option(False, "Train LoRA adapters (PEFT) instead of all weights.")
    lora_rank: int | None = option(None, "[16].")
    lora_alpha: int | None = option(None, "[32].")
    lora_dropout: float | None = option(None, "[0.05].")
    lora_targets: str | None = option(
        None,
        "Comma-separated linear layer names [q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,"
        "down_proj]; media towers are always left out.",
    )
    merge_lora: bool = option(
        False, "Merge the adapters and save a complete checkpoint (loadable by Judge)."
    )
    freeze_vision: bool = option(False, "Freeze the vision/audio towers and projectors.")

    def trainer_overrides(self) -> dict[str, Any]:
        """The ``SFTConfig`` fields of the settings that are set."""
        return {
            spec.target: getattr(self, spec.name)
            for spec in specs_of(type(self))
            if spec.target is not None and getattr(self, spec.name) is not None
        }

    def lora_settings(self) -> Any:
        """The :class:`~flexjudge.train.sft.LoraSettings`, or None without ``lora``."""
        from flexjudge.train.sft import LoraSettings

        given: dict[str, Any] = {
            k: v
            for k, v in (
                ("rank", self.lora_rank),
                ("alpha", self.lora_alpha),
                ("dropout", self.lora_dropout),
            )
            if v is not None
        }
        if self.lora_targets is not None:
            given["targets"] = tuple(t.strip() for t in self.lora_targets.split(",") if t.strip())
        if (self.merge_lora or given) and not self.lora:
            raise ConfigError("--merge-lora and --lora-* options need --lora")
        return LoraSettings(merge=self.merge_lora, **given) if self.lora else None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SFTRecipe:
        """Pop this recipe's fields out of a command's keyword arguments."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: options.pop(k) for k in list(options) if k in names})
