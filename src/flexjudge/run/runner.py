"""The run layer: requests in, one verdict line per request out, through a judge with a store.

Everything that judges many items (``flexjudge run``, ``flexjudge eval``, best-of-N, preference
pairs, the reward server's batch path) streams through :func:`judge_into`:

* verdicts come from :meth:`Judge.run <flexjudge.Judge.run>` in input order, each written as
  one JSON line the moment it exists (:class:`~flexjudge.io.AtomicWriter`: through
  ``OUT.partial``, renamed over ``OUT`` only when the run completes, so a failed or killed
  run never destroys the last good output);
* every engine completion is cached in the judge's store, so running the same command again
  resumes without generating anything twice, and rewrites the output whole, in input order;
* a bad item becomes an error record and the run goes on; the counts come back in a
  :class:`RunSummary`.

:func:`plan_run` checks a request file run before anything loads: the shard, the output and
store paths, and that no output is an input.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge.errors import ConfigError, InputError
from flexjudge.io import AtomicWriter, check_distinct, dump_json_line
from flexjudge.request import JudgeRequest
from flexjudge.run.progress import RunProgress
from flexjudge.run.requests import read_requests
from flexjudge.run.shards import SHARD_FIELD, RequestFile, Shard, request_file, shard_record
from flexjudge.verdict import Verdict

if TYPE_CHECKING:
    from flexjudge.judge import Judge

Item = JudgeRequest | Verdict


@dataclass
class RunSummary:
    """What a run did: verdict counts by status, time, and the store's answers."""

    output: Path
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "invalid": 0, "error": 0})
    seconds: float = 0.0
    from_store: int = 0
    generated: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def all_failed(self) -> bool:
        """Every item was an error (none reached the model, or the engine failed on all);
        invalid verdicts are the model's answers, not failures of the run."""
        return self.total > 0 and self.counts.get("error", 0) == self.total

    def as_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "counts": dict(self.counts),
            "seconds": round(self.seconds, 3),
            "from_store": self.from_store,
            "generated": self.generated,
        }


def judge_into(
    judge: Judge,
    items: Iterable[Item],
    output: Path,
    *,
    row: Callable[[Verdict, int], Mapping[str, Any]] | None = None,
    on_verdict: Callable[[int, Verdict], None] | None = None,
    progress: RunProgress | None = None,
) -> RunSummary:
    """Judge ``items`` into ``output`` (module rules). ``row(verdict, i)`` makes the line of
    item ``i`` (default: the verdict with its votes); ``on_verdict(i, verdict)`` sees every
    verdict as it is written (a benchmark's scorer)."""
    summary = RunSummary(output)
    stats = judge.cache_stats
    hits0, gen0 = (stats.hits, stats.generated) if stats else (0, 0)
    start = time.perf_counter()
    with AtomicWriter(output) as out:
        for i, verdict in enumerate(judge.run(items)):
            line = row(verdict, i) if row is not None else verdict.to_json()
            out.write(dump_json_line(line))
            summary.counts[verdict.status] = summary.counts.get(verdict.status, 0) + 1
            if on_verdict is not None:
                on_verdict(i, verdict)
            if progress is not None:
                progress.advance(verdict.status)
    summary.seconds = time.perf_counter() - start
    if stats:
        summary.from_store, summary.generated = stats.hits - hits0, stats.generated - gen0
    return summary


@dataclass(frozen=True)
class RunPlan:
    """A checked ``flexjudge run``: where it reads and writes, and which lines it judges."""

    requests: Path
    output: Path
    store: Path
    shard: Shard | None
    source: RequestFile

    def selected(
        self, defaults: Mapping[str, Any], positions: deque[int]
    ) -> Iterator[JudgeRequest | Verdict]:
        """This run's requests; each one's position (its line's index among non-blank lines)
        is appended to ``positions`` as it is read."""
        for position, item in enumerate(read_requests(self.requests, defaults)):
            if self.shard is None or self.shard.owns(position):
                positions.append(position)
                yield item


def plan_run(
    requests: Path, output: Path, *, store: Path | None = None, shard: Shard | None = None
) -> RunPlan:
    """Resolve the shard's paths and refuse outputs that are inputs (before any loading)."""
    if shard is not None:
        output = shard.path(output)
        store = shard.path(store) if store else None
    store = store or output.with_suffix(".sqlite")
    check_distinct({"--output": output, "--store": store}, {"request": requests})
    if output.suffix == ".sqlite":
        raise ConfigError(f"--output {str(output)!r} ends in .sqlite: that is the store's suffix")
    source = request_file(requests)
    if source.total == 0:
        raise InputError("request file has no requests (every line is blank)", path=requests)
    return RunPlan(requests, output, store, shard, source)


def run_file(
    judge: Judge,
    plan: RunPlan,
    *,
    defaults: Mapping[str, Any] | None = None,
    votes: bool = True,
    progress: RunProgress | None = None,
) -> RunSummary:
    """Judge a request file into its output (a shard's part of it, with ``plan.shard``)."""
    positions: deque[int] = deque()

    def make_row(verdict: Verdict, i: int) -> dict[str, Any]:
        line = verdict.to_json(votes=votes)
        position = positions.popleft()
        if plan.shard is not None:
            line[SHARD_FIELD] = shard_record(plan.shard, position, plan.source)
        return line

    items = plan.selected(defaults or {}, positions)
    return judge_into(judge, items, plan.output, row=make_row, progress=progress)
