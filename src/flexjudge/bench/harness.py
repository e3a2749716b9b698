"""The evaluation harness: one benchmark, judged through the one path or read from a verdict
file, scored by the benchmark's own rules, reported with the paper's numbers beside ours.

Both entry points feed the same :class:`_Scorer`, so a model run and a predictions file are
scored by identical code:

* :func:`evaluate` streams the benchmark's items into :meth:`Judge.run`, writes each verdict
  to ``verdicts.jsonl`` as it arrives (flushed: a killed run keeps what it wrote), and caches
  every engine completion in ``store.sqlite`` beside it, so running the same command again
  resumes without judging anything twice.
* :func:`score_verdicts` matches an existing flexjudge verdict JSONL to the items by id.

Memory holds the per-item columns (ids, labels, predictions) and nothing else: requests,
media and verdict texts stream through.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flexjudge.bench.audit import audit, response_lengths
from flexjudge.bench.bias import PositionBias
from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.gold import benchmark_gold
from flexjudge.bench.metrics import Metric
from flexjudge.bench.report import render_markdown
from flexjudge.bench.spec import Benchmark, Columns, Decision, Item, Protocol
from flexjudge.bench.suites import get_benchmark
from flexjudge.bench.verdicts import iter_verdict_objects
from flexjudge.errors import ConfigError
from flexjudge.io import atomic_write_text, check_distinct
from flexjudge.request import JudgeRequest
from flexjudge.run import RunProgress, RunSummary, Shard, judge_into
from flexjudge.run.items import Gold, ItemsWriter
from flexjudge.store.keys import engine_identity
from flexjudge.verdict import Verdict

__all__ = ["evaluate", "metrics_json", "score_verdicts", "write_outputs"]

_FIRST = 5  # how many offending ids an error message lists


class _Scorer:
    """Accumulates (item, verdict) pairs into the columns, the runs and the bias counters."""

    def __init__(self, bench: Benchmark, split: str) -> None:
        self.bench = bench
        self.pairwise = bench.is_pairwise(split)
        self.cols = Columns()
        self.runs: list[list[Any]] = []  # runs[i] = item i's prediction per vote
        self.bias = PositionBias()
        self.counts = {"ok": 0, "invalid": 0, "error": 0, "missing_media": 0, "skipped": 0}

    def add(self, item: Item, verdict: Mapping[str, Any] | Verdict) -> None:
        decision = Decision.of(verdict)
        self.cols.add(item, self.bench.predict(decision, item) if decision.ok else None)
        status = verdict.get("status") if isinstance(verdict, Mapping) else verdict.status
        self.counts[str(status)] = self.counts.get(str(status), 0) + 1
        if item.problem is not None:
            self.counts["missing_media"] += 1
        votes = verdict.get("votes") if isinstance(verdict, Mapping) else verdict.votes
        per_vote = []
        for v in votes or []:
            d = Decision.of(v)
            per_vote.append(self.bench.predict(d, item) if d.ok else None)
        self.runs.append(per_vote)
        if self.pairwise:
            self.bias.add(
                self.bench.gold_winner(item),
                votes or [],
                verdict.get("order_agreement")
                if isinstance(verdict, Mapping)
                else verdict.order_agreement,
            )

    def result(self, split: str, protocol: Protocol) -> dict[str, Any]:
        headline = self.bench.score(self.cols, split)
        n_runs = max((len(r) for r in self.runs), default=0)
        metrics: dict[str, Metric] = dict(headline)
        if n_runs > 1:
            per_run = [
                self.bench.score(
                    self.cols.with_preds([r[i] if i < len(r) else None for r in self.runs]), split
                )
                for i in range(n_runs)
            ]
            rolled = {how: _over_runs(per_run, how) for how in ("mean", "median", "worst")}
            if protocol.aggregate != "vote":
                metrics = dict(rolled[protocol.aggregate])
            top = [k for k in headline if "/" not in k]
            for k in top:
                metrics[f"{k}@vote"] = headline[k]
                for how in ("mean", "median", "worst"):
                    metrics[f"{k}@runs_{how}"] = rolled[how][k]
        result: dict[str, Any] = {
            "benchmark": self.bench.name,
            "split": split,
            "n_items": len(self.cols),
            "protocol": protocol.as_dict(),
            "runs": n_runs,
            "metric_rules": self.bench.metric_rules,
            "counts": self.counts,
            "metrics": {k: m.as_dict() for k, m in metrics.items()},
        }
        if self.pairwise:
            result["position_bias"] = self.bias.as_dict()
        paper = self.bench.paper_for(split)
        if paper:
            result["paper"] = paper
        return result


def _over_runs(per_run: Sequence[Mapping[str, Metric]], how: str) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    for key, first in per_run[0].items():
        ms = [r[key] for r in per_run if key in r]
        values = [m.value for m in ms if m.value is not None]
        if not values:
            value = None
        elif how == "mean":
            value = float(statistics.fmean(values))
        elif how == "median":
            value = float(statistics.median(values))
        else:  # worst: the highest distance, the lowest rate or correlation
            value = max(values) if first.kind == "distance" else min(values)
        out[key] = Metric(
            key,
            value,
            sum(m.n for m in ms),
            sum(m.n_invalid for m in ms),
            f"{how} over {len(ms)} runs (run i = sample i of every item); "
            f"n and n_invalid summed over runs",
            first.kind,
            {
                "runs": len(ms),
                **{f"run_{i}": m.value for i, m in enumerate(ms) if m.value is not None},
            },
        )
    return out


# --------------------------------------------------------------------------------------------
# Judging a benchmark
# --------------------------------------------------------------------------------------------


def _resized(fields: Mapping[str, Any], size: int) -> dict[str, Any]:
    """Request fields with every image squashed to ``size`` x ``size`` (the official runs'
    ``--resize``; the aspect ratio is not kept, as there)."""
    from flexjudge.engines.images import load_image

    def squash(images: Iterable[Any]) -> list[Any]:
        from PIL import Image

        return [load_image(im).resize((size, size), Image.Resampling.BICUBIC) for im in images]

    out = dict(fields)
    if out.get("images"):
        out["images"] = squash(out["images"])
    responses = []
    for r in out.get("responses", []):
        if isinstance(r, Mapping) and r.get("images"):
            r = {**r, "images": squash(r["images"])}
        responses.append(r)
    out["responses"] = responses
    return out


def _requests(
    items: Iterable[Item], pending: deque[Item], protocol: Protocol, missing: str, scorer: _Scorer
) -> Iterator[JudgeRequest | Verdict]:
    for item in items:
        if item.problem is not None:
            if missing == "skip":
                scorer.counts["skipped"] += 1
                continue
            pending.append(item)
            yield Verdict.failed(item.id, str((item.request or {}).get("task", "")), item.problem)
            continue
        assert item.request is not None
        fields = dict(item.request)
        try:
            if protocol.resize:
                fields = _resized(fields, protocol.resize)
            request: JudgeRequest | Verdict = JudgeRequest.build(id=item.id, **fields)
        except Exception as exc:  # bad media or fields: this item fails, the run goes on
            request = Verdict.failed(item.id, str(fields.get("task", "")), str(exc))
        pending.append(item)
        yield request


class _Seen:
    """What a run saw, beside the scorer: the items file (request fields and the human label,
    for the report) and the compact inputs of the bias audit (verdicts without their texts)."""

    def __init__(self, bench: Benchmark, split: str, items_path: Path | None = None) -> None:
        self.bench, self.split = bench, split
        self.items = ItemsWriter(items_path) if items_path is not None else None
        self.verdicts: list[dict[str, Any]] = []
        self.golds: list[Gold] = []
        self.groups: list[str] = []
        self.lengths: list[list[int] | None] = []

    def add(self, scorer: _Scorer, item: Item, verdict: Verdict | Mapping[str, Any]) -> None:
        scorer.add(item, verdict)
        gold = benchmark_gold(self.bench, self.split, item)
        if self.items is not None:
            self.items.write(item.id, item.request or {}, gold=gold, group=item.group)
        full = verdict.to_json() if isinstance(verdict, Verdict) else verdict
        compact = {k: v for k, v in full.items() if k not in ("reasoning", "votes")}
        compact["votes"] = [
            {k: v for k, v in vote.items() if k not in ("text", "reasoning")}
            for vote in full.get("votes") or []
        ]
        self.verdicts.append(compact)
        self.golds.append(gold)
        self.groups.append(item.group)
        self.lengths.append(response_lengths(item.request))

    def audit(self) -> dict[str, Any]:
        return audit(self.verdicts, self.golds, self.groups, self.lengths)


def _timings(started: float, seconds: float, n: int) -> dict[str, Any]:
    return {
        "started": datetime.fromtimestamp(started, tz=timezone.utc).isoformat(),
        "seconds": round(seconds, 3),
        "judgments_per_second": round(n / seconds, 4) if seconds else None,
    }


def _result(
    scorer: _Scorer,
    seen: _Seen,
    split: str,
    protocol: Protocol,
    summary: RunSummary,
    started: float,
) -> dict[str, Any]:
    result = scorer.result(split, protocol)
    result["bias_audit"] = seen.audit()
    result["timings"] = _timings(started, summary.seconds, summary.total)
    return result


def judge_record(engine: Any, config: Any) -> dict[str, Any]:
    """Engine, model, the model's content fingerprint and the settings a run used."""
    return {
        "engine": engine.info.engine,
        "model": engine.info.model,
        "fingerprint": engine_identity(engine)["model"],
        "config": dict(config.__dict__),
    }


def evaluate(
    benchmark: str,
    data: str | Path,
    judge: Any,
    output: Path,
    *,
    split: str | None = None,
    media_root: Path | None = None,
    protocol: Protocol | None = None,
    limit: int | None = None,
    missing: str = "error",
    cache: bool = True,
    shard: Shard | None = None,
    progress: RunProgress | None = None,
) -> dict[str, Any]:
    """Judge ``benchmark`` with ``judge`` (a :class:`flexjudge.Judge`) and write
    ``verdicts.jsonl``, ``metrics.json`` and ``report.md`` under ``output``.

    ``protocol`` defaults to the benchmark's paper protocol for the split; its samples, order,
    temperature and top-p replace the judge's own. ``missing``: ``"error"`` (an item whose
    media are missing becomes an error verdict, scored wrong and counted) or ``"skip"`` (left
    out of judging and scoring, counted). ``shard`` (``i/n``) judges only the items whose
    position (after ``limit``) is i modulo n, into ``output/shard-i-of-n/``: metrics of that
    shard alone; :func:`score_verdicts` scores all shards' files together.
    """
    bench = get_benchmark(benchmark)
    split = bench.check_split(split, data)
    protocol = protocol or bench.protocol_for(split)
    if missing not in ("error", "skip"):
        raise ConfigError(f"missing must be 'error' or 'skip', got {missing!r}")

    if shard is not None:
        output = output / f"shard-{shard.index}-of-{shard.count}"
    output.mkdir(parents=True, exist_ok=True)
    scorer = _Scorer(bench, split)
    pending: deque[Item] = deque()
    items = _limited(bench.items(data, split, media_root=media_root, protocol=protocol), limit)
    if shard is not None:
        items = (item for position, item in enumerate(items) if shard.owns(position))
    check_distinct({"--output": output / "verdicts.jsonl"}, {"benchmark": Path(data)})
    seen = _Seen(bench, split, output / "items.jsonl")
    started = time.time()
    summary, config = _judge_all(
        judge,
        output,
        cache,
        protocol,
        _requests(items, pending, protocol, missing, scorer),
        on_verdict=lambda _, verdict: seen.add(scorer, pending.popleft(), verdict),
        seen=seen,
        progress=progress,
    )
    result = _result(scorer, seen, split, protocol, summary, started)
    result.update(
        data=str(data),
        output=str(output),
        media_root=str(media_root) if media_root else None,
        judge=judge_record(judge.base_engine, config),
        store={
            "path": str(output / "store.sqlite"),
            "from_store": summary.from_store,
            "generated": summary.generated,
        },
    )
    if shard is not None:
        result["shard"] = {
            "index": shard.index,
            "count": shard.count,
            "note": "metrics of this shard only: score all shards' verdicts.jsonl "
            "together with --predictions",
        }
    write_outputs(result, output)
    return result


def _judge_all(
    judge: Any,
    output: Path,
    cache: bool,
    protocol: Protocol,
    requests: Iterable[JudgeRequest | Verdict],
    *,
    on_verdict: Any,
    seen: _Seen,
    progress: RunProgress | None,
) -> tuple[RunSummary, Any]:
    """Judge through a store beside the outputs, with the protocol's sampling; the summary
    and the settings used."""
    stored = judge.with_store(output / "store.sqlite", cache=cache)
    run_judge = stored.with_config(
        votes=protocol.samples,
        order=protocol.order,
        temperature=protocol.temperature,
        top_p=protocol.top_p,
    )
    try:
        summary = judge_into(
            run_judge,
            requests,
            output / "verdicts.jsonl",
            on_verdict=on_verdict,
            progress=progress,
        )
        if seen.items is not None:
            seen.items.close()
    except BaseException:
        if seen.items is not None:
            seen.items.abort()
        raise
    finally:
        stored.close()  # the store; the engine stays the caller's
    return summary, run_judge.config


def _limited(items: Iterator[Item], limit: int | None) -> Iterator[Item]:
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1 item, got {limit}")
    for i, item in enumerate(items):
        if limit is not None and i >= limit:
            return
        yield item


# --------------------------------------------------------------------------------------------
# Scoring an existing verdict file
# --------------------------------------------------------------------------------------------


def score_verdicts(
    benchmark: str,
    verdicts: Path | Sequence[Path],
    data: str | Path,
    *,
    split: str | None = None,
    media_root: Path | None = None,
    protocol: Protocol | None = None,
) -> dict[str, Any]:
    """Score flexjudge verdict JSONL (one file, or several such as the shards of a run)
    against the benchmark's items, matched by ``id``.

    Every item needs exactly one verdict and every verdict an item; otherwise
    :class:`BenchmarkDataError` gives both counts and the first offending ids.
    """
    bench = get_benchmark(benchmark)
    split = bench.check_split(split, data)
    protocol = protocol or bench.protocol_for(split)
    files = [Path(verdicts)] if isinstance(verdicts, (str, Path)) else [Path(v) for v in verdicts]
    named = files[0] if len(files) == 1 else Path(f"{files[0]} (+{len(files) - 1} files)")
    by_id: dict[str, dict[str, Any]] = {}
    dupes: list[str] = []
    for path in files:
        for obj in iter_verdict_objects(path):
            key = str(obj["id"])
            if key in by_id:
                dupes.append(key)
            by_id[key] = obj
    if dupes:
        raise BenchmarkDataError(
            named, f"{len(dupes)} duplicate verdict ids, first: {dupes[:_FIRST]}"
        )
    scorer = _Scorer(bench, split)
    seen = _Seen(bench, split)
    missing: list[str] = []
    n_items = 0
    for item in bench.items(data, split, media_root=media_root, protocol=protocol):
        n_items += 1
        verdict = by_id.pop(item.id, None)
        if verdict is None:
            missing.append(item.id)
            continue
        seen.add(scorer, replace(item, problem=None), verdict)
    if missing or by_id:
        extra = list(by_id)
        raise BenchmarkDataError(
            named,
            f"verdicts do not match the items of {data}: "
            f"{n_items - len(missing) + len(extra)} verdicts vs {n_items} items; "
            f"{len(missing)} items without a verdict (first: {missing[:_FIRST]}); "
            f"{len(extra)} verdict ids not in the benchmark (first: {extra[:_FIRST]})",
        )
    result = scorer.result(split, protocol)
    result["bias_audit"] = seen.audit()
    result.update(
        data=str(data),
        predictions=[str(f) for f in files] if len(files) > 1 else str(files[0]),
        predictions_format="flexjudge_verdicts",
    )
    return result


def metrics_json(result: Mapping[str, Any]) -> str:
    """The ``metrics.json`` text (stable key order, 2-space indent)."""
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def write_outputs(result: Mapping[str, Any], output: Path) -> None:
    atomic_write_text(output / "metrics.json", metrics_json(result))
    atomic_write_text(output / "report.md", render_markdown(result))
