"""``flexjudge run REQUESTS.jsonl --output OUT.jsonl``: batch judging with constant memory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flexjudge.cli.options import engine_options, judge_kwargs, request_options
from flexjudge.judge.api import Judge
from flexjudge.requests_io import count_lines, read_requests


@click.command()
@click.argument("requests", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where verdicts go, one JSON object per line (each with the request id).")
@click.option("--tie/--no-tie", default=None, help="Default for pairwise lines without 'tie'.")
@click.option("--no-votes", is_flag=True, help="Leave the per-vote records out of the output.")
@request_options
@engine_options
def run(requests: Path, output: Path, tie: bool | None, no_votes: bool, **opts: Any) -> None:
    """Judge every request of a JSONL file (schema: README, "Request files")."""
    defaults = {"scale": opts.pop("scale"), "criteria": opts.pop("criteria"),
                "reference": opts.pop("reference"), "tie": tie}
    judge = Judge(**judge_kwargs(opts))
    total = count_lines(requests)
    counts = {"ok": 0, "invalid": 0, "error": 0}
    console = Console(stderr=True)
    start = time.perf_counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as out, Progress(
        TextColumn("judging"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:
        task = progress.add_task("judging", total=total)
        for verdict in judge.run(read_requests(requests, defaults)):
            out.write(json.dumps(verdict.to_json(votes=not no_votes), ensure_ascii=False) + "\n")
            out.flush()  # a killed run keeps every verdict already written
            counts[verdict.status] += 1
            progress.advance(task)
    elapsed = time.perf_counter() - start
    done = sum(counts.values())
    console.print(
        f"{done} requests: {counts['ok']} ok, {counts['invalid']} invalid, {counts['error']} error "
        f"in {elapsed:.1f}s ({done / elapsed if elapsed else 0:.2f} judgments/s) -> {output}")
