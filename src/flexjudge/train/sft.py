"""Text-only supervised fine-tuning of a judge with TRL (prompt-completion data, loss on the
completion only). The demo trains through this code; so do full-size runs.

The default recipe is the paper's (App. B.2): lr 1e-5, one epoch, max length 4096, cosine
schedule with 5 % warmup, weight decay 1e-4, Adam betas (0.9, 0.95), bf16 on GPUs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from transformers import AutoConfig, AutoProcessor

from flexjudge.errors import InputError, ModelLoadError
from flexjudge.models.loading import load_model_class

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


@dataclass
class TrainResult:
    output_dir: Path
    n_examples: int
    n_dropped: int
    """Examples dropped because they would be truncated before their last ``</answer>``."""
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    train_tokens: int = 0


def sft_config(output_dir: str | Path, **overrides: Any) -> Any:
    """A TRL ``SFTConfig`` with the paper's recipe, adjusted for the hardware present:
    bf16 and gradient checkpointing only on CUDA (TRL turns both on by default)."""
    from trl import SFTConfig

    cuda = torch.cuda.is_available()
    params: dict[str, Any] = dict(
        PAPER_RECIPE,
        output_dir=str(output_dir),
        bf16=cuda and torch.cuda.is_bf16_supported(),
        gradient_checkpointing=cuda,
        completion_only_loss=True,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        seed=0,
        dataset_num_proc=None,
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


def train_sft(base_model: str | Path, rows: Sequence[dict[str, Any]], output_dir: str | Path,
              **overrides: Any) -> TrainResult:
    """Fine-tune ``base_model`` on prompt-completion ``rows`` and write a complete checkpoint
    (weights, processor with chat template, generation config) to ``output_dir``."""
    from datasets import Dataset
    from trl import SFTTrainer

    if not rows:
        raise InputError("no training examples")
    output_dir = Path(output_dir)
    args = sft_config(output_dir, **overrides)
    try:
        config = AutoConfig.from_pretrained(str(base_model))
        processor = AutoProcessor.from_pretrained(str(base_model))
    except Exception as exc:
        raise ModelLoadError(f"cannot load base model {str(base_model)!r}: {exc}") from exc
    tokenizer = getattr(processor, "tokenizer", processor)
    if getattr(tokenizer, "chat_template", None) is None:
        raise ModelLoadError(f"base model {str(base_model)!r} has no chat template")

    lengths = _token_lengths(tokenizer, rows)
    kept = [(r, n) for r, n in zip(rows, lengths) if args.max_length is None or n <= args.max_length]
    keep = [r for r, _ in kept]
    dropped = len(rows) - len(keep)
    if dropped:
        log.warning("dropping %d of %d examples longer than max_length=%s (they would lose "
                    "their closing answer)", dropped, len(rows), args.max_length)
    if not keep:
        raise InputError(f"all {len(rows)} examples exceed max_length={args.max_length}")

    model = load_model_class(config).from_pretrained(str(base_model), dtype=torch.float32)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(list(keep)),
                         processing_class=tokenizer)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    trainer.save_model(str(output_dir))
    processor.save_pretrained(str(output_dir))
    losses = [float(h["loss"]) for h in trainer.state.log_history if "loss" in h]
    epochs = float(args.num_train_epochs)
    result = TrainResult(output_dir, len(keep), dropped, losses, seconds,
                         int(sum(n for _, n in kept) * epochs))
    _write_record(output_dir, base_model, keep, args, result)
    return result


def _write_record(output_dir: Path, base_model: str | Path, rows: Sequence[dict[str, Any]],
                  args: Any, result: TrainResult) -> None:
    """A short record of the run next to the checkpoint: data hash, recipe, versions, losses."""
    import transformers
    import trl

    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    recipe = {k: getattr(args, k) for k in (*PAPER_RECIPE, "bf16", "seed")}
    record = {
        "base_model": str(base_model),
        "data_sha256": digest.hexdigest(),
        "n_examples": result.n_examples,
        "n_dropped_too_long": result.n_dropped,
        "recipe": recipe,
        "effective_batch_size": args.per_device_train_batch_size
        * args.gradient_accumulation_steps * max(1, args.world_size),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "trl": trl.__version__, "python": platform.python_version()},
        "train_seconds": round(result.seconds, 2),
        "losses": result.losses,
    }
    (output_dir / "flexjudge_train.json").write_text(json.dumps(record, indent=2, default=str))
