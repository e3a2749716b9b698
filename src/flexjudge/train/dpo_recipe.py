"""The DPO recipe's settings, declared once like :class:`~flexjudge.train.recipe.SFTRecipe`
(whose LoRA, freezing and optimiser options it shares): the ``flexjudge dpo`` flags, the keys
of a ``--config`` YAML and the TRL ``DPOConfig`` fields they fill. ``None`` means "not set":
the official stage-3 recipe (:data:`~flexjudge.train.dpo.STAGE3_RECIPE`) applies, as the help
says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flexjudge.options import option
from flexjudge.train.recipe import SFTRecipe


@dataclass(frozen=True)
class DPORecipe(SFTRecipe):
    """Options of ``flexjudge dpo`` beyond the policy, data and output."""

    lr: float | None = option(None, "Learning rate [stage 3: 1e-5].", target="learning_rate")
    epochs: float | None = option(None, "Epochs [stage 3: 3].", target="num_train_epochs")
    max_length: int | None = option(
        None,
        "Longest prompt plus response in tokens; TRL cuts longer pairs [text: TRL's 1024; "
        "vision-language policies: no limit, as TRL advises].",
        target="max_length",
    )
    batch_size: int | None = option(
        None, "Pairs per device and step [stage 3: 2].", target="per_device_train_batch_size"
    )
    grad_accum: int | None = option(
        None, "Gradient accumulation steps [stage 3: 8].", target="gradient_accumulation_steps"
    )
    warmup_ratio: float | None = option(
        None,
        "Warm-up: below 1 a share of the steps, else a step count [stage 3: 100 steps].",
        target="warmup_steps",
    )
    lr_scheduler: str | None = option(
        None, "Schedule [cosine_with_min_lr].", target="lr_scheduler_type"
    )
    weight_decay: float | None = option(None, "[stage 3: 0.05].", target="weight_decay")
    report_to: str | None = option(
        None,
        "Send per-step metrics to tensorboard, wandb or all (TRL's report_to) [none; they are "
        "always in the checkpoint's flexjudge_dpo.json].",
        target="report_to",
    )
    beta: float | None = option(None, "DPO beta [stage 3: 0.1].", target="beta")
    min_lr: float | None = option(None, "Floor of the cosine_with_min_lr schedule [stage 3: 5e-6].")
    loss_type: str | None = option(
        None,
        "TRL DPO loss, or losses joined by commas (sigmoid,sft: DPO plus an SFT term on the "
        "chosen response, RPO-style) [sigmoid].",
        target="loss_type",
    )

    def trainer_overrides(self) -> dict[str, Any]:
        """The ``DPOConfig`` fields of the settings that are set (``min_lr`` as the
        schedule's keyword)."""
        out = super().trainer_overrides()
        if self.loss_type is not None:
            out["loss_type"] = [t.strip() for t in self.loss_type.split(",") if t.strip()]
        if self.min_lr is not None:
            out["lr_scheduler_kwargs"] = {"min_lr": self.min_lr}
        return out
