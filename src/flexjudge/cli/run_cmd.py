"""``flexjudge run REQUESTS.jsonl --output OUT.jsonl``: batch judging with constant memory,
resumable (engine completions are cached in a store) and shardable."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flexjudge.cli.options import engine_options, judge_kwargs, request_options
from flexjudge.errors import ConfigError
from flexjudge.judge.api import Judge
from flexjudge.requests_io import read_requests
from flexjudge.store import CachedEngine, Store
from flexjudge.store.shards import (
    SHARD_FIELD,
    RequestFile,
    Shard,
    request_file,
    resolve_shard,
    shard_record,
)
from flexjudge.verdict import Verdict


@click.command()
@click.argument("requests", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where verdicts go, one JSON object per line (each with the request id).",
)
@click.option("--tie/--no-tie", default=None, help="Default for pairwise lines without 'tie'.")
@click.option("--no-votes", is_flag=True, help="Leave the per-vote records out of the output.")
@click.option(
    "--store",
    "store_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
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
    **opts: Any,
) -> None:
    """Judge every request of a JSONL file (schema: README, "Request files")."""
    defaults = {
        "scale": opts.pop("scale"),
        "criteria": opts.pop("criteria"),
        "reference": opts.pop("reference"),
        "tie": tie,
    }
    console = Console(stderr=True)
    part = resolve_shard(shard)
    if part is not None:
        output = part.path(output)
        store_path = part.path(store_path) if store_path else None
        if part.origin != "--shard":
            console.print(
                f"shard {part} (from {part.origin}) -> {output}",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
    store_path = store_path or output.with_suffix(".sqlite")
    if store_path.resolve() == output.resolve():
        raise ConfigError(
            f"--store and --output are the same file ({output}): pass another --store"
        )
    if resume and no_cache:
        raise ConfigError("--resume reuses the store and --no-cache ignores it: pass one of them")
    if resume and not store_path.is_file():
        raise ConfigError(
            f"--resume: no store at {store_path} (a run with the same --output, "
            "--store and --shard writes it); drop --resume to start a new run"
        )
    source = request_file(requests)
    store = Store(store_path)  # first: a store that cannot be used fails before any loading
    try:
        judge = Judge(**judge_kwargs(opts))
    except BaseException:
        store.close()
        raise
    cached = CachedEngine(judge.engine, store, read=not no_cache)
    judge.engine = cached
    positions: deque[int] = deque()

    def selected() -> Iterator[Any]:
        # Positions count the non-blank lines, as read_requests yields them.
        for position, item in enumerate(read_requests(requests, defaults)):
            if part is None or part.owns(position):
                positions.append(position)
                yield item

    counts = {"ok": 0, "invalid": 0, "error": 0}
    start = time.perf_counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            output.open("w", encoding="utf-8") as out,
            Progress(
                TextColumn("judging"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task(
                "judging", total=part.size(source.total) if part else source.total
            )
            for verdict in judge.run(selected()):
                out.write(
                    json.dumps(
                        _row(verdict, positions.popleft(), part, source, no_votes),
                        ensure_ascii=False,
                    )
                    + "\n"
                )
                out.flush()  # a killed run keeps every verdict already written
                counts[verdict.status] += 1
                progress.advance(task)
    finally:
        store.close()
    elapsed = time.perf_counter() - start
    done = sum(counts.values())
    stats = cached.stats
    console.print(
        f"{done} requests: {counts['ok']} ok, {counts['invalid']} invalid, {counts['error']} error "
        f"in {elapsed:.1f}s ({done / elapsed if elapsed else 0:.2f} judgments/s) -> {output}"
    )
    # One unwrapped, unstyled line: scripts and tests read it.
    console.print(
        f"store {store_path}: {stats.hits} engine requests from the store, "
        f"{stats.generated} generated",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def _row(
    verdict: Verdict, position: int, part: Shard | None, source: RequestFile, no_votes: bool
) -> dict[str, Any]:
    row = verdict.to_json(votes=not no_votes)
    if part is not None:
        row[SHARD_FIELD] = shard_record(part, position, source)
    return row
