"""The ``flexjudge`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flexjudge.cli.common import configure_output, run_guarded
from flexjudge.cli.curate_cmd import curate
from flexjudge.cli.demo_cmd import demo
from flexjudge.cli.dpo_cmd import dpo
from flexjudge.cli.eval_cmd import eval_command
from flexjudge.cli.judge_cmds import compare, rank, score
from flexjudge.cli.loop_cmds import best_of_n, pairs, sample
from flexjudge.cli.merge_cmd import merge
from flexjudge.cli.mol_llama_cmd import mol_llama
from flexjudge.cli.report_cmd import report
from flexjudge.cli.run_cmd import run
from flexjudge.cli.serve_cmd import serve
from flexjudge.cli.train_cmd import train


class _Group(click.Group):
    """Every command under the one error contract (:func:`flexjudge.cli.common.run_guarded`)."""

    def invoke(self, ctx: click.Context) -> Any:
        return run_guarded(lambda: super(_Group, self).invoke(ctx))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flexjudge")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Show the libraries' logs, warnings and model-loading progress bars (stderr).",
)
def cli(verbose: bool) -> None:
    """Flex-Judge: a reasoning judge for text, images and more.

    Results go to stdout (with --json: exactly one JSON document); everything else - logs,
    warnings, progress - goes to stderr."""
    configure_output(verbose)


@cli.command("tiny-model")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--arch", default="qwen2_5_vl", show_default=True)
@click.option(
    "--vocab",
    type=click.Choice(["small", "qwen"]),
    default="small",
    show_default=True,
    help="small: a small trained BPE vocabulary (fast); qwen: the real Qwen vocabulary.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--full",
    is_flag=True,
    help="qwen2_5_omni only: the full model (thinker + tiny talker and token2wav).",
)
def tiny_model(out_dir: Path, arch: str, vocab: str, seed: int, full: bool) -> None:
    """Write a tiny randomly initialised checkpoint for offline tests."""
    from flexjudge.errors import ConfigError
    from flexjudge.testing.tiny import build_tiny_model

    if full:
        if arch != "qwen2_5_omni":
            raise ConfigError("--full applies to --arch qwen2_5_omni only")
        arch = "qwen2_5_omni_full"
    path = build_tiny_model(out_dir, arch=arch, vocab=vocab, seed=seed)
    click.echo(str(path))


for command in (score, compare, rank, run, demo, eval_command, merge, curate, train, report):
    cli.add_command(command)
cli.add_command(serve)
cli.add_command(mol_llama)
for command in (sample, best_of_n, pairs, dpo):  # the judge drives training (flexjudge.loop)
    cli.add_command(command)


def app() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    app()
