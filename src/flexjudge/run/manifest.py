"""``OUT.run.json``: what a ``flexjudge run`` did, beside its output - the request file, the
judge (engine, model fingerprint, settings), timings, counts, the store's answers and the bias
audit of its verdicts (no human labels: distributions, agreement, position and ties). The HTML
report reads it to show a plain run like a benchmark run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flexjudge.io import atomic_write_text, read_jsonl
from flexjudge.run.runner import RunPlan, RunSummary


def manifest_path(output: Path) -> Path:
    return output.with_suffix(".run.json")


def compact_verdicts(path: Path) -> Iterator[dict[str, Any]]:
    """The verdicts of an output file without their texts (what statistics read)."""
    for line in read_jsonl(path, what="verdict file"):
        if line.error is not None:
            continue
        v = line.value
        out = {k: x for k, x in v.items() if k not in ("reasoning", "votes")}
        out["votes"] = [
            {k: x for k, x in vote.items() if k not in ("text", "reasoning")}
            for vote in v.get("votes") or []
            if isinstance(vote, dict)
        ]
        yield out


def judge_record(judge: Any) -> dict[str, Any]:
    """Engine, model, the model's content fingerprint and the settings of a judge."""
    from flexjudge.store.keys import engine_identity

    engine = judge.base_engine
    return {
        "engine": engine.info.engine,
        "model": engine.info.model,
        "fingerprint": engine_identity(engine)["model"],
        "config": dict(judge.config.__dict__),
    }


def write_manifest(
    plan: RunPlan,
    summary: RunSummary,
    judge: dict[str, Any] | None,
    *,
    started: float,
    audit: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
) -> Path:
    """Write ``OUT.run.json`` for a finished run (``judge``: :func:`judge_record`); ``audit``
    maps its verdicts to the bias audit (``flexjudge.bench.audit.audit``; passed in, since the
    run layer sits below it)."""
    record: dict[str, Any] = {
        "requests": str(plan.requests.resolve()),
        "output": str(plan.output),
        "shard": None if plan.shard is None else str(plan.shard),
        "judge": judge,
        "timings": {
            "started": datetime.fromtimestamp(started, tz=timezone.utc).isoformat(),
            "seconds": round(summary.seconds, 3),
            "finished": datetime.fromtimestamp(time.time(), tz=timezone.utc).isoformat(),
        },
        "counts": summary.counts,
        "store": {
            "path": str(plan.store),
            "from_store": summary.from_store,
            "generated": summary.generated,
        },
    }
    if audit is not None:
        record["bias_audit"] = audit(list(compact_verdicts(plan.output)))
    path = manifest_path(plan.output)
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
