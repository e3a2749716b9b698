"""Judge a benchmark with a model through the one path, then score it with the same code that
scores published predictions (:func:`flexjudge.bench.predictions.score_predictions`).

Available:

* ``pandalm`` (text-only pairwise with tie). Each item becomes a pairwise request with ``id`` =
  the item's ``idx``; the verdict's winner maps A -> 1, B -> 2, tie -> 0.
* ``mllm_judge_pair`` (MLLM-as-a-Judge *pair*, image + question + two answers, tie allowed):
  accuracy with and without tie per ``original_dataset``, macro-averaged as the paper reports.
  Images are looked up as ``IMAGES/<image file>`` (``--images``; default: an ``image`` folder
  beside the data file's parent, as in the benchmark's ``Dataset/`` layout). A missing image
  makes that item an error verdict, counted invalid (wrong) and reported.

An invalid or error verdict counts as wrong, as every metric in :mod:`flexjudge.bench.metrics`
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

RUNNABLE = ("pandalm", "mllm_judge_pair")
_PAIR_WINNER = {"A": "A", "B": "B", "tie": "C"}


def pandalm_requests(data: Path, limit: int | None = None) -> Iterator[JudgeRequest]:
    for item in load_pandalm_testset(data)[:limit]:
        question = item.instruction + (f"\n\n{item.input}" if item.input.strip() else "")
        yield JudgeRequest.build(id=str(item.idx), task="pairwise", instruction=question,
                                 responses=[item.response1, item.response2], tie=True)


def mllm_pair_requests(items: list[Any], images: Path) -> Iterator[JudgeRequest]:
    for it in items:
        # the record's line: the public files' ids repeat across records
        yield JudgeRequest.build(id=f"line {it.line}", task="pairwise", instruction=it.instruction,
                                 responses=[it.answer1.answer, it.answer2.answer], tie=True,
                                 images=[str(images / it.image_file)])


def _mllm_pair(data: Path, judge: Judge, output: Path, limit: int | None,
               images: Path | None) -> dict[str, Any]:
    from flexjudge.bench.loaders import iter_mllm_judge_pair
    from flexjudge.bench.metrics import by_source, macro_average, pairwise_accuracy

    items = list(iter_mllm_judge_pair(data))[:limit]
    images = images or data.parent.parent / "image"
    column: list[str | None] = []  # verdicts stream back in request order
    errors = 0
    with (output / "verdicts.jsonl").open("w", encoding="utf-8") as fh:
        for v in judge.run(mllm_pair_requests(items, images)):
            fh.write(json.dumps(v.to_json(), ensure_ascii=False) + "\n")
            column.append(_PAIR_WINNER.get(v.winner or "") if v.ok else None)
            errors += v.status == "error"
    sources = [it.original_dataset for it in items]
    labels = [it.human for it in items]
    metrics = {}
    for with_tie, key in ((True, "pair_with_tie"), (False, "pair_without_tie")):
        per = by_source(pairwise_accuracy, sources, column, labels, with_tie=with_tie)
        metrics[key] = macro_average(per, name=key)
        for src, m in per.items():
            metrics[f"{key}/{src}"] = m
    return {
        "benchmark": "mllm_judge_pair", "split": data.stem,
        "protocol": ("MLLM-as-a-Judge pair: winner A/B/tie vs human A/B/C; accuracy per "
                     "original_dataset, macro average; without tie drops human ties; invalid "
                     "and error verdicts count as wrong"),
        "data": str(data), "images": str(images), "n_items": len(items),
        "counts": {"invalid": sum(p is None for p in column), "error": errors},
        "metrics": {k: m.as_dict() for k, m in metrics.items()},
    }


def run_benchmark(benchmark: str, data: Path, judge: Judge, output: Path,
                  limit: int | None = None, images: Path | None = None) -> dict[str, Any]:
    """Judge, write ``verdicts.jsonl``, ``metrics.json`` and ``report.md`` under ``output``."""
    key = benchmark.strip().lower().replace("-", "_")
    if key not in RUNNABLE:
        raise ConfigError(f"judging {benchmark!r} with a model is not available yet "
                          f"(available: {', '.join(RUNNABLE)}); score existing outputs with --predictions")
    output.mkdir(parents=True, exist_ok=True)
    if key == "mllm_judge_pair":
        result = _mllm_pair(data, judge, output, limit, images)
        return _finish(result, judge, output)
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
    return _finish(score_predictions(key, verdicts, scored_data), judge, output)


def _finish(result: dict[str, Any], judge: Judge, output: Path) -> dict[str, Any]:
    result["judge"] = {"engine": judge.engine.info.engine, "model": judge.engine.info.model,
                       "config": judge.config.__dict__}
    (output / "metrics.json").write_text(metrics_json(result))
    (output / "report.md").write_text(render_markdown(result))
    return result
