"""``flexjudge run REQUESTS.jsonl --output OUT.jsonl``: batch judging with constant memory,
resumable (engine completions are cached in a store) and shardable (:mod:`flexjudge.run`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from flexjudge.cli.common import info
from flexjudge.cli.options import engine_options, judge_kwargs, request_options
from flexjudge.errors import ConfigError
from flexjudge.judge.api import Judge
from flexjudge.run import (
    RunPlan,
    RunProgress,
    RunSummary,
    plan_run,
    progress_wanted,
    resolve_shard,
    run_file,
)
from flexjudge.run.manifest import judge_record, write_manifest


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
@click.option(
    "--report",
    "report",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the HTML report of the run here (flexjudge report; the report extra).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process. ray: Ray Data on the cluster at RAY_ADDRESS (or a local one), "
    "one engine per worker; same output and store (docs/scale.md). Parquet output "
    "(OUTPUT.parquet) needs ray.",
)
@click.option(
    "--num-workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With --executor ray: workers, each holding one engine (one GPU each where the "
    "cluster has GPUs).",
)
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
    executor: str,
    num_workers: int,
    report: Path | None,
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
    if executor == "ray" and shard:
        raise ConfigError(
            "--shard splits a run over processes; --executor ray splits it over the cluster: "
            "pass one of them"
        )
    if executor == "local" and output.suffix == ".parquet":
        raise ConfigError(
            f"--output {str(output)!r}: Parquet output is written by --executor ray; the local "
            "executor writes JSONL"
        )
    if executor == "local" and num_workers != 1:
        raise ConfigError("--num-workers is an option of --executor ray")
    # A Ray run is split by the cluster, never by a job array's environment.
    part = resolve_shard(shard) if executor == "local" else None
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
    started = time.time()
    with RunProgress("judging", total, enabled=progress_wanted(quiet)) as progress:
        summary, judge = _judge(
            plan,
            opts,
            defaults,
            executor,
            num_workers,
            progress,
            votes=not no_votes,
            cache=not no_cache,
        )
    _finish(plan, summary, judge, started, report)
    if summary.all_failed:
        raise click.exceptions.Exit(1)


def _judge(
    plan: RunPlan,
    opts: dict[str, Any],
    defaults: dict[str, Any],
    executor: str,
    num_workers: int,
    progress: RunProgress,
    *,
    votes: bool,
    cache: bool,
) -> tuple[RunSummary, dict[str, Any] | None]:
    """Judge the plan's requests in this process or on Ray; the summary and the judge's
    record (engine, model fingerprint, settings) for the manifest."""
    if executor == "ray":
        from flexjudge.scale.ray import run_file as run_on_ray

        kwargs = judge_kwargs(opts)
        summary = run_on_ray(
            plan,
            kwargs,
            defaults=defaults,
            votes=votes,
            cache=cache,
            num_workers=num_workers,
            progress=progress,
        )
        return summary, {"engine": kwargs["engine"], "model": kwargs["model"], "executor": "ray"}
    # The store first: one that cannot be used (or is held by another run) fails before any
    # weights load.
    with Judge(**judge_kwargs(opts), store=plan.store, cache=cache) as judge:
        summary = run_file(judge, plan, defaults=defaults, votes=votes, progress=progress)
        return summary, judge_record(judge)


def _finish(
    plan: RunPlan,
    summary: RunSummary,
    judge: dict[str, Any] | None,
    started: float,
    report: Path | None,
) -> None:
    """The summary lines, ``OUT.run.json`` (with the bias audit) and, asked for, the report."""
    from flexjudge.bench.audit import audit

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
    write_manifest(plan, summary, judge, started=started, audit=lambda vs: audit(vs))
    if report is not None:
        from flexjudge.cli.report_cmd import write_report

        write_report(plan.output, report, requests=plan.requests)
