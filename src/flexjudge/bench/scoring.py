"""The ``--predictions`` path: score a judge's outputs against a benchmark.

A file is recognised (:mod:`flexjudge.bench.formats`) as flexjudge's own verdict JSONL, which
the harness scores with the same code as a model run (:func:`~flexjudge.bench.harness.
score_verdicts`), or as one of the benchmark's published formats, whose reader aligns the
predictions to the items and whose benchmark scores them with its own
:meth:`~flexjudge.bench.spec.Benchmark.score`: published outputs and model runs share one
metric implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from flexjudge.bench.formats import recognise
from flexjudge.bench.harness import score_verdicts
from flexjudge.bench.spec import PredictionFormat, Published
from flexjudge.bench.suites import get_benchmark
from flexjudge.errors import ConfigError

__all__ = ["score_predictions"]


def score_predictions(
    benchmark: str,
    predictions: Path | str | Sequence[Path | str],
    data: Path | str | None = None,
    *,
    split: str | None = None,
) -> dict[str, Any]:
    """Score predictions against ``benchmark`` and return the ``metrics.json`` dict.

    ``predictions``: flexjudge verdict JSONL (one file, or the shards of a run; ``data`` then
    gives the items), or the benchmark's published judge outputs (``flexjudge eval formats``
    lists them: PandaLM result arrays with ``data`` = ``testset-v1.json``; GenAI-Bench
    ``pairwise.jsonl``, ``data`` optional; MJ-Bench closed-source result files, a folder of
    one judge's subset files or the files themselves). ``split`` overrides the split the files
    name; a split the benchmark does not have is an error.

    The dict holds ``benchmark``, ``split``, ``protocol``, ``predictions``,
    ``predictions_format``, ``data``, ``n_items``, ``counts`` and ``metrics`` (name -> value,
    n, n_invalid, kind, note), and ``paper`` where the paper has numbers. Rates are fractions.
    Predictions whose ids or count do not match the items raise
    :class:`~flexjudge.bench.errors.BenchmarkDataError` with both counts and the first
    offending ids. Invalid predictions count as wrong and are counted, with one documented
    exception: PandaLM's ``"garbage"`` is read as a tie, its published rule
    (:func:`~flexjudge.bench.suites.pandalm.pandalm_prediction`), and
    ``metrics["accuracy_strict"]`` gives the accuracy with them counted wrong.
    """
    files = (
        [Path(predictions)]
        if isinstance(predictions, (str, Path))
        else [Path(p) for p in predictions]
    )
    if not files:
        raise ConfigError("no predictions file given")
    bench = get_benchmark(benchmark)
    data_path = Path(data) if data is not None else None
    found = [recognise(bench.name, f) for f in files]
    formats = [fmt for fmt, _ in found if fmt is not None]
    if len(formats) < len(found):  # flexjudge's own verdicts
        if formats:
            raise ConfigError("flexjudge verdict files and published outputs cannot be mixed")
        if data is None:
            raise ConfigError(f"scoring flexjudge verdicts of {bench.name} needs its items: --data")
        return score_verdicts(bench.name, files, data, split=bench.check_split(split, data))
    fmt = formats[0]
    if len({f.name for f in formats}) > 1:
        raise ConfigError(f"the files are of different formats: {[name for _, name in found]}")
    if len(files) > 1 and not fmt.several:
        raise ConfigError(
            f"{fmt.name} is scored one file at a time; several files are read for the "
            "shards of a flexjudge run and for formats of one file per subset"
        )
    published = fmt.read(files, data_path, split)
    return _result(fmt, published, files, data_path)


def _result(
    fmt: PredictionFormat, published: Published, files: list[Path], data: Path | None
) -> dict[str, Any]:
    bench = get_benchmark(fmt.benchmark)
    metrics = bench.score(published.cols, published.split)
    if published.note:
        metrics = {k: replace(m, note=f"{m.note}; {published.note}") for k, m in metrics.items()}
    metrics.update(published.extra)
    result: dict[str, Any] = {
        "benchmark": bench.name,
        "split": published.split,
        "protocol": f"{fmt.name}: {fmt.rules}",
        "predictions": [str(f) for f in files] if len(files) > 1 else str(files[0]),
        "predictions_format": fmt.name,
        "data": str(data) if data is not None else None,
        "n_items": len(published.cols),
        "counts": published.counts,
        "metrics": {k: m.as_dict() for k, m in metrics.items()},
    }
    result.update(published.details)
    paper = bench.paper_for(published.split)
    if paper:
        result["paper"] = paper
    return result
