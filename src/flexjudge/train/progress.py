"""What training shows while it runs: one progress bar on a terminal and the loss every N
steps, both on stderr; never TRL's per-step log dicts on stdout.

transformers' ``ProgressCallback`` writes every log dict through ``tqdm.write`` (stdout), and
``PrinterCallback`` prints them: :func:`quiet_trainer` swaps both for :class:`TrainingLog`.
The per-step metrics stay in ``trainer.state.log_history`` (written into the checkpoint's run
record) and reach TensorBoard or W&B when ``report_to`` asks for them.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback

log = logging.getLogger("flexjudge.train")

#: Unless told how often, about this many loss lines per run (every ``max_steps // 20`` steps).
DEFAULT_LINES = 20


class TrainingLog(TrainerCallback):
    """A progress bar (stderr, terminals only) and a loss line every ``every`` steps (by
    default, :data:`DEFAULT_LINES` lines over the run)."""

    def __init__(self, every: int | None = None, *, quiet: bool = False) -> None:
        self.every = max(1, every) if every else 0
        self.quiet = quiet
        self.bar: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self.every:
            self.every = max(1, int(state.max_steps or 0) // DEFAULT_LINES)
        if self.quiet or not state.is_world_process_zero or not sys.stderr.isatty():
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_steps, desc="training", file=sys.stderr, leave=False)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        if not logs or not state.is_world_process_zero or self.quiet:
            return
        step = state.global_step
        if "loss" not in logs or (step % self.every and step != state.max_steps):
            return
        parts = [f"step {step}/{state.max_steps}", f"loss {float(logs['loss']):.4f}"]
        if "learning_rate" in logs:
            parts.append(f"lr {float(logs['learning_rate']):.3g}")
        for key in ("rewards/margins", "rewards/accuracies"):
            if key in logs:
                parts.append(f"{key.split('/')[1]} {float(logs[key]):.3f}")
        message = ", ".join(parts)
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            log.info(message)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def quiet_trainer(trainer: Any, every: int | None = None, *, quiet: bool = False) -> Any:
    """``trainer`` without the stdout log printers, with :class:`TrainingLog` instead."""
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(TrainingLog(every, quiet=quiet))
    return trainer
