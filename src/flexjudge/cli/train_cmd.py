"""``flexjudge train --model BASE --data rows.jsonl --output DIR``: text-only SFT of a judge.

Also ``python -m flexjudge.train ...`` and ``accelerate launch -m flexjudge.train ...`` (one
process per GPU; the effective batch size counts them). Unset recipe options keep the paper's
recipe (:data:`flexjudge.train.PAPER_RECIPE`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from flexjudge.cli.common import configure_output, echo_json, run_guarded
from flexjudge.cli.declared import is_main_process, layer_yaml, training_options
from flexjudge.options import specs_of
from flexjudge.train.recipe import SFTRecipe

_RECIPE_SPECS = specs_of(SFTRecipe)


@click.command()
@training_options(
    _RECIPE_SPECS,
    model_help="Base checkpoint: a local folder or hub id (e.g. Qwen/Qwen2.5-VL-7B-Instruct).",
    data_help="Training rows (JSONL of prompt-completion chats, e.g. from `flexjudge curate`).",
    config_example="configs/recipes/paper.yaml",
)
@click.pass_context
def train(
    ctx: click.Context,
    model: str,
    data: Path,
    output: Path,
    config_path: Path | None,
    as_json: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Fine-tune a judge text-only on reasoning-first rows (TRL SFT, loss on the answer turn)."""
    from flexjudge.train import effective_batch_size, read_rows, sft_config, train_sft

    if config_path is not None:
        layer_yaml(ctx, config_path, options, _RECIPE_SPECS)
    recipe = SFTRecipe.from_options(options)
    lora_settings = recipe.lora_settings()
    freeze_vision = recipe.freeze_vision
    overrides = recipe.trainer_overrides()
    rows = read_rows(data)
    # The same config train_sft builds, so the numbers printed are the ones the trainer uses
    # (its world size is the number of processes it really trains with).
    args = sft_config(output, **overrides)
    per_device, accum = args.per_device_train_batch_size, args.gradient_accumulation_steps
    world = max(1, args.world_size)
    main = is_main_process()
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
        model,
        rows,
        output,
        lora=lora_settings,
        freeze_vision=freeze_vision,
        log_every=recipe.log_every,
        quiet=quiet,
        **overrides,
    )
    if main:
        _report(result, console, as_json)


def _report(result: Any, console: Console, as_json: bool) -> None:
    """The run's summary: one JSON document on stdout, or a table."""
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
        echo_json(summary)
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
    """``python -m flexjudge.train``: the command, under the error contract of every command
    (:func:`flexjudge.cli.common.run_guarded`)."""

    def call() -> None:
        try:
            train.main(args=argv, prog_name="python -m flexjudge.train", standalone_mode=False)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)

    configure_output()
    run_guarded(call)
