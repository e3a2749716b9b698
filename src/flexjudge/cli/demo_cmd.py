"""``flexjudge demo``: the offline demo (tiny model, text-only fine-tuning, before/after)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from flexjudge.cli.common import echo_json
from flexjudge.errors import ConfigError


@click.command()
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the trained model (OUT/model), verdicts and summary.json.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quick", is_flag=True, help="A smaller run (fewer items, fewer votes), for CI.")
@click.option(
    "--loop",
    is_flag=True,
    help="The training loop instead: a tiny policy improved by a tiny judge through sample, "
    "best-of-n, pairs and dpo (docs/loop.md).",
)
@click.option(
    "--judge",
    default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="With --loop: an existing demo judge (e.g. OUT/model of `flexjudge demo`) instead of "
    "training one.",
)
def demo(out: Path, as_json: bool, quick: bool, loop: bool, judge: Path | None) -> None:
    """Train a tiny judge text-only on CPU and judge text and image inputs before and after."""
    from flexjudge.demo.run import DemoSettings, run_demo

    err = Console(stderr=True)
    if loop:
        from flexjudge.demo.loop import LoopSettings, run_loop, summary_lines

        base = LoopSettings.quick() if quick else LoopSettings()
        loop_settings = replace(base, judge=str(judge) if judge else None)
        result = run_loop(out, loop_settings, progress=lambda m: err.print(f"[dim]loop:[/dim] {m}"))
        if as_json:
            echo_json(result)
        else:
            click.echo("\n".join(summary_lines(result)))
        return
    if judge is not None:
        raise ConfigError("--judge goes with --loop")
    settings = DemoSettings.quick() if quick else DemoSettings()
    summary = run_demo(out, settings, progress=lambda msg: err.print(f"[dim]demo:[/dim] {msg}"))
    if as_json:
        echo_json(summary)
        return
    print_summary(summary)


def print_summary(summary: dict[str, Any]) -> None:
    table = Table(title="flexjudge demo: tiny Qwen2.5-VL, text-only SFT")
    for col in ("stage", "input", "valid rate", "pairwise accuracy", "chance"):
        table.add_column(col)
    for stage in ("before", "after"):
        for condition in ("text", "image"):
            m = summary[stage][condition]
            table.add_row(
                stage,
                condition,
                f"{m['valid_rate']:.1%}",
                f"{m['pairwise_accuracy']:.1%}",
                f"{m['chance']:.0%}",
            )
    console = Console()
    console.print(table)
    t = summary["training"]
    console.print(
        f"training: {t['examples']} examples, loss {t['first_loss']:.2f} -> {t['last_loss']:.2f}, "
        f"{t['seconds']}s; total {summary['seconds']}s; model: {summary['model']}"
    )
    console.print(
        "Invalid verdicts are counted as wrong. The image row shows whether text-only "
        "training transfers to a tiny backbone that was never pretrained on images."
    )
