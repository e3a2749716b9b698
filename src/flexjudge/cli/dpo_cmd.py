"""``flexjudge dpo --model POLICY --data PAIRS.jsonl --output DIR``: DPO of a policy on
judge-labelled pairs (TRL ``DPOTrainer``; recipe in :mod:`flexjudge.train.dpo`).

Also ``python -m flexjudge.train.dpo ...`` and ``accelerate launch -m flexjudge.train.dpo ...``
(one process per GPU, with the launch configs of ``flexjudge train``). Unset options keep the
official stage-3 recipe.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from flexjudge.cli.common import configure_output, echo_json, run_guarded
from flexjudge.cli.declared import is_main_process, layer_yaml, training_options
from flexjudge.options import specs_of
from flexjudge.train.dpo_recipe import DPORecipe

_RECIPE_SPECS = specs_of(DPORecipe)


@click.command()
@training_options(
    _RECIPE_SPECS,
    model_help="The policy: a local folder or hub id.",
    data_help="Preference pairs (JSONL with prompt, chosen, rejected[, images]), e.g. from "
    "`flexjudge pairs`.",
    config_example="configs/recipes/dpo_stage3.yaml",
)
@click.pass_context
def dpo(
    ctx: click.Context,
    model: str,
    data: Path,
    output: Path,
    config_path: Path | None,
    as_json: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Fine-tune a policy with DPO on preference pairs (the stage-3 recipe by default)."""
    from flexjudge.train.dpo import read_pairs, train_dpo

    if config_path is not None:
        layer_yaml(ctx, config_path, options, _RECIPE_SPECS)
    recipe = DPORecipe.from_options(options)
    rows = read_pairs(data)
    main = is_main_process()
    if main:
        click.echo(f"DPO of {model} on {len(rows)} pairs from {data}", err=True)
    # transformers prints its training logs on stdout; stdout is for the result only
    with contextlib.redirect_stdout(sys.stderr):
        result = train_dpo(
            model,
            rows,
            output,
            lora=recipe.lora_settings(),
            freeze_vision=recipe.freeze_vision,
            log_every=recipe.log_every,
            quiet=quiet,
            **recipe.trainer_overrides(),
        )
    if not main:
        return
    hist = result.history
    summary = {
        "output": str(result.output_dir),
        "pairs": result.n_pairs,
        "steps": len(result.losses),
        "first_loss": result.losses[0] if result.losses else None,
        "last_loss": result.losses[-1] if result.losses else None,
        "last_reward_margin": _last(hist.get("rewards/margins")),
        "last_reward_accuracy": _last(hist.get("rewards/accuracies")),
        "effective_batch_size": result.effective_batch_size,
        "trainable_parameters": result.trainable_parameters,
        "adapter_only": result.adapter_only,
        "seconds": round(result.seconds, 1),
    }
    if as_json:
        echo_json(summary)
        return
    for key, value in summary.items():
        shown = "-" if value is None else f"{value:.4g}" if isinstance(value, float) else value
        click.echo(f"{key.replace('_', ' ')}: {shown}")


def _last(values: list[float] | None) -> float | None:
    return values[-1] if values else None


def main(argv: list[str] | None = None) -> None:
    """``python -m flexjudge.train.dpo``: the command, under the error contract of every
    command (:func:`flexjudge.cli.common.run_guarded`)."""

    def call() -> None:
        try:
            dpo.main(args=argv, prog_name="python -m flexjudge.train.dpo", standalone_mode=False)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)

    configure_output()
    run_guarded(call)
