"""``flexjudge train --model BASE --data rows.jsonl --output DIR``: text-only SFT of a judge.

Also ``python -m flexjudge.train ...`` and ``accelerate launch -m flexjudge.train ...`` (one
process per GPU; the effective batch size counts them). Unset recipe options keep the paper's
recipe (:data:`flexjudge.train.PAPER_RECIPE`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from flexjudge.errors import ConfigError, FlexJudgeError

# option name -> SFTConfig field; None means "the paper's recipe"
_RECIPE_OPTIONS = {
    "lr": "learning_rate",
    "epochs": "num_train_epochs",
    "max_steps": "max_steps",
    "max_length": "max_length",
    "batch_size": "per_device_train_batch_size",
    "grad_accum": "gradient_accumulation_steps",
    "warmup_ratio": "warmup_steps",  # a float in [0, 1) is a ratio (transformers 5)
    "lr_scheduler": "lr_scheduler_type",
    "weight_decay": "weight_decay",
    "max_grad_norm": "max_grad_norm",
    "seed": "seed",
    "gradient_checkpointing": "gradient_checkpointing",
}


#: Keys a ``--config`` YAML may set: the recipe, LoRA and freezing options, named as the options
#: (``lr``, ``grad_accum``, ``lora_rank``; dashes or underscores).
_CONFIG_KEYS = (
    *_RECIPE_OPTIONS,
    "lora",
    "lora_rank",
    "lora_alpha",
    "lora_dropout",
    "lora_targets",
    "merge_lora",
    "freeze_vision",
)


def _layer_config(ctx: click.Context, path: Path, values: dict[str, Any]) -> None:
    """Fill ``values`` from the YAML at ``path`` for every option not given on the command line:
    defaults (the paper's recipe) < YAML < command-line flags. Values are converted by the
    options' own types, so ``lr: 1e-5`` is a float although YAML reads it as a string."""
    import yaml
    from click.core import ParameterSource

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the training config: {exc}") from exc
    if loaded is None:
        return
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: a training config is a mapping of option names to values")
    params = {p.name: p for p in ctx.command.params if p.name in _CONFIG_KEYS}
    for key, value in loaded.items():
        name = str(key).replace("-", "_")
        if name not in params:
            raise ConfigError(
                f"{path}: unknown key {key!r}; a training config may set " + ", ".join(_CONFIG_KEYS)
            )
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            continue
        if name == "lora_targets" and isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        try:
            values[name] = params[name].type.convert(value, params[name], ctx)
        except click.BadParameter as exc:
            raise ConfigError(f"{path}: {key}: {exc.message}") from exc


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0") or 0) == 0


@click.command()
@click.option(
    "--model",
    "-m",
    required=True,
    help="Base checkpoint: a local folder or hub id (e.g. Qwen/Qwen2.5-VL-7B-Instruct).",
)
@click.option(
    "--data",
    "-d",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Training rows (JSONL of prompt-completion chats, e.g. from `flexjudge curate`).",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the trained checkpoint.",
)
@click.option("--lr", type=float, default=None, help="Learning rate [paper: 1e-5].")
@click.option("--epochs", type=float, default=None, help="Epochs [paper: 1].")
@click.option("--max-steps", type=int, default=None, help="Stop after N optimizer steps.")
@click.option(
    "--max-length",
    type=int,
    default=None,
    help="Longest row in tokens; longer rows are dropped and reported [paper: 4096].",
)
@click.option("--batch-size", type=int, default=None, help="Per-device batch size [paper: 2].")
@click.option("--grad-accum", type=int, default=None, help="Gradient accumulation steps [1].")
@click.option("--warmup-ratio", type=float, default=None, help="Warmup share of steps [0.05].")
@click.option("--lr-scheduler", default=None, help="Schedule [cosine].")
@click.option("--weight-decay", type=float, default=None, help="[1e-4].")
@click.option("--max-grad-norm", type=float, default=None, help="Gradient clipping [1.0].")
@click.option("--seed", type=int, default=None, help="[0].")
@click.option(
    "--gradient-checkpointing/--no-gradient-checkpointing", default=None, help="[on with CUDA]."
)
@click.option("--lora", is_flag=True, help="Train LoRA adapters (PEFT) instead of all weights.")
@click.option("--lora-rank", type=int, default=None, help="[16].")
@click.option("--lora-alpha", type=int, default=None, help="[32].")
@click.option("--lora-dropout", type=float, default=None, help="[0.05].")
@click.option(
    "--lora-targets",
    default=None,
    help="Comma-separated linear layer names [q_proj,k_proj,v_proj,o_proj,gate_proj,"
    "up_proj,down_proj]; media towers are always left out.",
)
@click.option(
    "--merge-lora",
    is_flag=True,
    help="Merge the adapters and save a complete checkpoint (loadable by Judge).",
)
@click.option(
    "--freeze-vision", is_flag=True, help="Freeze the vision/audio towers and projectors."
)
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML of option values named as the options (lr, grad_accum, lora_rank, ...), "
    "e.g. configs/recipes/paper.yaml; options given here win.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def train(
    ctx: click.Context,
    model: str,
    data: Path,
    output: Path,
    config_path: Path | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Fine-tune a judge text-only on reasoning-first rows (TRL SFT, loss on the answer turn)."""
    from flexjudge.train import LoraSettings, effective_batch_size, read_rows, sft_config, train_sft

    if config_path is not None:
        _layer_config(ctx, config_path, options)
    lora, lora_rank, lora_alpha, lora_dropout, lora_targets, merge_lora, freeze_vision = (
        options.pop(k)
        for k in (
            "lora",
            "lora_rank",
            "lora_alpha",
            "lora_dropout",
            "lora_targets",
            "merge_lora",
            "freeze_vision",
        )
    )
    recipe = options

    lora_given = {
        k: v
        for k, v in (("rank", lora_rank), ("alpha", lora_alpha), ("dropout", lora_dropout))
        if v is not None
    }
    if lora_targets is not None:
        lora_given["targets"] = tuple(t.strip() for t in lora_targets.split(",") if t.strip())
    if (merge_lora or lora_given) and not lora:
        raise ConfigError("--merge-lora and --lora-* options need --lora")
    lora_settings = LoraSettings(merge=merge_lora, **lora_given) if lora else None
    overrides = {_RECIPE_OPTIONS[k]: v for k, v in recipe.items() if v is not None}
    rows = read_rows(data)
    # The same config train_sft builds, so the numbers printed are the ones the trainer uses
    # (its world size is the number of processes it really trains with).
    args = sft_config(output, **overrides)
    per_device, accum = args.per_device_train_batch_size, args.gradient_accumulation_steps
    world = max(1, args.world_size)
    main = _is_main_process()
    console = Console(stderr=as_json)
    if main:
        console.print(
            f"training {model} on {len(rows)} rows from {data}\n"
            f"effective batch size: {effective_batch_size(per_device, accum, world)} "
            f"= {per_device} per device x {accum} accumulation x {world} process(es); "
            f"lr {args.learning_rate}, "
            + (
                f"{args.max_steps} steps"
                if args.max_steps > 0
                else f"{args.num_train_epochs} epoch(s)"
            )
            + (
                f"; LoRA r={lora_settings.rank} alpha={lora_settings.alpha}"
                f"{' (merged)' if lora_settings.merge else ''}"
                if lora_settings
                else ""
            )
            + ("; media towers frozen" if freeze_vision else ""),
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
    result = train_sft(
        model, rows, output, lora=lora_settings, freeze_vision=freeze_vision, **overrides
    )
    if not main:
        return
    summary = {
        "output": str(result.output_dir),
        "examples": result.n_examples,
        "dropped_too_long": result.n_dropped,
        "steps": len(result.losses),
        "first_loss": result.losses[0] if result.losses else None,
        "last_loss": result.losses[-1] if result.losses else None,
        "effective_batch_size": result.effective_batch_size,
        "trainable_parameters": result.trainable_parameters,
        "total_parameters": result.total_parameters,
        "frozen_media_parameters": result.frozen_media_parameters,
        "adapter_only": result.adapter_only,
        "seconds": round(result.seconds, 1),
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    table = Table(title="flexjudge train")
    table.add_column("")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        shown = "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(key.replace("_", " "), shown)
    console.print(table)
    if result.adapter_only:
        console.print(
            "The output is a PEFT adapter; load it on the base model with peft, or "
            "train with --merge-lora for a checkpoint that Judge loads directly."
        )


def main(argv: list[str] | None = None) -> None:
    """``python -m flexjudge.train``: the command, with flexjudge errors as one line, exit 2."""
    try:
        train.main(args=argv, prog_name="python -m flexjudge.train", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except FlexJudgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
