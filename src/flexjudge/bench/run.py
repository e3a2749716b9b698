"""Judge a benchmark with a model through the one path, then score it with the same code that
scores published predictions (:func:`flexjudge.bench.predictions.score_predictions`).

Available: ``pandalm`` (text-only pairwise with tie). Each item becomes a pairwise request with
``id`` = the item's ``idx``; the verdict's winner maps A -> 1, B -> 2, tie -> 0, and an
invalid or error verdict counts as wrong, as every metric in :mod:`flexjudge.bench.metrics`
documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from flexjudge.bench.loaders import load_pandalm_testset
from flexjudge.bench.predictions import metrics_json, score_predictions
from flexjudge.bench.report import render_markdown
from flexjudge.errors import ConfigError
from flexjudge.judge.api import Judge
from flexjudge.request import JudgeRequest

RUNNABLE = ("pandalm",)


def pandalm_requests(data: Path, limit: int | None = None) -> Iterator[JudgeRequest]:
    for item in load_pandalm_testset(data)[:limit]:
        question = item.instruction + (f"\n\n{item.input}" if item.input.strip() else "")
        yield JudgeRequest.build(id=str(item.idx), task="pairwise", instruction=question,
                                 responses=[item.response1, item.response2], tie=True)


def run_benchmark(benchmark: str, data: Path, judge: Judge, output: Path,
                  limit: int | None = None) -> dict[str, Any]:
    """Judge, write ``verdicts.jsonl``, ``metrics.json`` and ``report.md`` under ``output``."""
    key = benchmark.strip().lower().replace("-", "_")
    if key not in RUNNABLE:
        raise ConfigError(f"judging {benchmark!r} with a model is not available yet "
                          f"(available: {', '.join(RUNNABLE)}); score existing outputs with --predictions")
    output.mkdir(parents=True, exist_ok=True)
    scored_data = data
    if limit is not None:  # score against exactly the judged subset
        items = json.loads(data.read_text(encoding="utf-8"))[:limit]
        scored_data = output / f"{data.stem}.first{limit}.json"
        scored_data.write_text(json.dumps(items, ensure_ascii=False))
    verdicts = output / "verdicts.jsonl"
    with verdicts.open("w", encoding="utf-8") as fh:
        for v in judge.run(pandalm_requests(data, limit)):
            fh.write(json.dumps(v.to_json(), ensure_ascii=False) + "\n")
            fh.flush()
    result = score_predictions(key, verdicts, scored_data)
    result["judge"] = {"engine": judge.engine.info.engine, "model": judge.engine.info.model,
                       "config": judge.config.__dict__}
    (output / "metrics.json").write_text(metrics_json(result))
    (output / "report.md").write_text(render_markdown(result))
    return result
