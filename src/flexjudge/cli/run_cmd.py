"""``flexjudge run REQUESTS.jsonl --output OUT.jsonl``: batch judging with constant memory,
resumable (engine completions are cached in a store) and shardable (:mod:`flexjudge.run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flexjudge.cli.common import info
from flexjudge.cli.options import engine_options, judge_kwargs, request_options
from flexjudge.errors import ConfigError
from flexjudge.judge.api import Judge
from flexjudge.run import RunProgress, plan_run, progress_wanted, resolve_shard, run_file


@click.command()
@click.argument("requests", type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Where verdicts go, one JSON object per line (each with the request id). Written "
    "through OUTPUT.partial and renamed when complete: a failed run keeps the last good file.",
)
@click.option("--tie/--no-tie", default=None, help="Default for pairwise lines without 'tie'.")
@click.option("--no-votes", is_flag=True, help="Leave the per-vote records out of the output.")
@click.option(
    "--store",
    "store_path",
    default=None,
    type=click.Path(path_type=Path),
    help="SQLite cache of engine completions [default: OUTPUT with suffix .sqlite].",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Generate everything again (do not read the store); still write to it.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a killed run: fail unless its store exists. Re-running the same "
    "command resumes anyway: stored completions are not generated again, and "
    "OUTPUT is rewritten in input order.",
)
@click.option(
    "--shard",
    default=None,
    metavar="I/N",
    help="Judge only lines whose index modulo N is I, into OUTPUT.shard-I-of-N "
    "[default: from RANK/WORLD_SIZE or SLURM_ARRAY_TASK_ID/_COUNT when set]. "
    "Combine with `flexjudge merge`.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@request_options
@engine_options
def run(
    requests: Path,
    output: Path,
    tie: bool | None,
    no_votes: bool,
    store_path: Path | None,
    no_cache: bool,
    resume: bool,
    shard: str | None,
    quiet: bool,
    **opts: Any,
) -> None:
    """Judge every request of a JSONL file (schema: README, "Request files").

    Exits 0 when at least one request reached the model (invalid and error verdicts are
    records in the output, counted in the summary), 1 when every request was an error, 2 on
    bad usage or a bad file."""
    defaults = {
        "scale": opts.pop("scale"),
        "criteria": opts.pop("criteria"),
        "reference": opts.pop("reference"),
        "tie": tie,
    }
    part = resolve_shard(shard)
    plan = plan_run(requests, output, store=store_path, shard=part)
    if part is not None and part.origin != "--shard":
        info(f"shard {part} (from {part.origin}) -> {plan.output}")
    if resume and no_cache:
        raise ConfigError("--resume reuses the store and --no-cache ignores it: pass one of them")
    if resume and not plan.store.is_file():
        raise ConfigError(
            f"--resume: no store at {plan.store} (a run with the same --output, "
            "--store and --shard writes it); drop --resume to start a new run"
        )
    total = part.size(plan.source.total) if part else plan.source.total
    # The store first: one that cannot be used (or is held by another run) fails before any
    # weights load.
    with (
        Judge(**judge_kwargs(opts), store=plan.store, cache=not no_cache) as judge,
        RunProgress("judging", total, enabled=progress_wanted(quiet)) as progress,
    ):
        summary = run_file(judge, plan, defaults=defaults, votes=not no_votes, progress=progress)
    c = summary.counts
    rate = summary.total / summary.seconds if summary.seconds else 0.0
    info(
        f"{summary.total} requests: {c['ok']} ok, {c['invalid']} invalid, {c['error']} error "
        f"in {summary.seconds:.1f}s ({rate:.2f} judgments/s) -> {plan.output}"
    )
    info(
        f"store {plan.store}: {summary.from_store} engine requests from the store, "
        f"{summary.generated} generated"
    )
    if summary.all_failed:
        raise click.exceptions.Exit(1)
