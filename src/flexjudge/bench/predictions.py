"""The ``--predictions`` path: score a judge's outputs.

* The benchmarks' own published judge-result formats are read here: a PandaLM
  ``*-testset-v1.json`` result array, a GenAI-Bench ``pairwise.jsonl`` with ``model_vote`` /
  ``human_vote``.
* flexjudge's verdict JSONL (one or several files, e.g. a sharded run's) goes to the harness
  (:func:`flexjudge.bench.harness.score_verdicts`), which scores it with the same code as a
  model run; :func:`iter_verdict_objects` checks its lines. Verdicts are matched to the items
  by ``id`` (compared as strings, so ``7`` and ``"7"`` are the same id).

:func:`score_predictions` returns the dict written as ``metrics.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.loaders import (
    genai_bench_task,
    iter_genai_bench,
    iter_jsonl,
    load_pandalm_judgments,
    load_pandalm_testset,
)
from flexjudge.bench.metrics import (
    GENAI_VOTES,
    Metric,
    classification_metrics,
    label_accuracy,
)
from flexjudge.bench.paper import paper_numbers
from flexjudge.errors import ConfigError
from flexjudge.prompts.protocol import LABELS

__all__ = [
    "BENCHMARKS",
    "GENAI_VOTE_MAP",
    "VERDICT_LABELS",
    "genai_vote",
    "iter_verdict_objects",
    "metrics_json",
    "pandalm_prediction",
    "score_predictions",
]

BENCHMARKS: tuple[str, ...] = ("pandalm", "genai_bench")

#: The four verdict labels flexjudge writes.
VERDICT_LABELS: tuple[str, ...] = LABELS

#: GenAI-Bench's published mapping from a judge's verdict to a human vote. ``[[A=B]]`` is an
#: older tie spelling some judges emit; the leaderboard counts it as ``tievote``.
GENAI_VOTE_MAP: dict[str, str] = {
    "[[A>B]]": "leftvote",
    "[[B>A]]": "rightvote",
    "[[A=B=Good]]": "tievote",
    "[[A=B=Bad]]": "bothbad_vote",
    "[[A=B]]": "tievote",
}

_STATUSES = ("ok", "invalid", "error")
_WINNERS = ("A", "B", "tie")
_FIRST_IDS = 5  # how many offending ids an error message lists


# --------------------------------------------------------------------------------------------
# flexjudge verdict JSONL
# --------------------------------------------------------------------------------------------


def iter_verdict_objects(path: Path | str) -> Iterator[dict[str, Any]]:
    """Stream a flexjudge verdict JSONL as checked JSON objects (votes kept), each with its
    line number under ``"_line"``; a field outside its vocabulary raises naming the line."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):

        def fail(cause: str, lineno: int = lineno) -> BenchmarkDataError:
            return BenchmarkDataError(path, cause, line=lineno)

        for key in ("id", "status", "winner", "label", "scores"):
            if key not in obj:
                raise fail(f"missing field {key!r}")
        vid = obj["id"]
        if vid is None:
            raise fail("id is null, so the verdict cannot be matched to a benchmark item")
        if isinstance(vid, bool) or not isinstance(vid, (str, int)):
            raise fail(f"id must be a string or integer, got {vid!r}")
        if obj["status"] not in _STATUSES:
            raise fail(f"status {obj['status']!r} is not one of {list(_STATUSES)}")
        if obj["winner"] is not None and obj["winner"] not in _WINNERS:
            raise fail(f"winner {obj['winner']!r} is not one of {list(_WINNERS)} or null")
        if obj["label"] is not None and obj["label"] not in VERDICT_LABELS:
            raise fail(f"label {obj['label']!r} is not one of {list(VERDICT_LABELS)} or null")
        scores = obj["scores"]
        if scores is not None and (
            not isinstance(scores, list)
            or not all(
                isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s)
                for s in scores
            )
        ):
            raise fail(f"scores must be a list of finite numbers or null, got {scores!r}")
        votes = obj.get("votes") or []
        if not isinstance(votes, list) or not all(isinstance(v, dict) for v in votes):
            raise fail("votes must be a list of objects")
        obj["_line"] = lineno
        yield obj


# --------------------------------------------------------------------------------------------
# Protocol rules
# --------------------------------------------------------------------------------------------


def pandalm_prediction(result: object) -> tuple[int | None, bool]:
    """Read one raw PandaLM judge result by PandaLM's *published* protocol.

    Returns ``(class, was_garbage)``. ``"Tie"`` / ``"tie"`` -> 0; ``"garbage"`` -> 0 as well,
    with ``was_garbage=True`` so callers report how many there were; otherwise ``int(result)``.
    This deliberately departs from flexjudge's general rule (unusable output = invalid, counted
    wrong) because it is how PandaLM's authors defined their metric and the published numbers
    depend on it (GPT-3.5: 71.07 vs 69.77 with garbage counted wrong). Anything that is not an
    integer 0-2 after this reading is invalid (``None``).
    """
    if result in ("Tie", "tie"):
        return 0, False
    if result == "garbage":
        return 0, True
    if isinstance(result, bool):
        return None, False
    try:
        value = int(result)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None, False
    return (value, False) if value in (0, 1, 2) else (None, False)


def genai_vote(model_vote: object) -> str | None:
    """Map a judge verdict to a GenAI-Bench vote by :data:`GENAI_VOTE_MAP`; anything else
    (``None``, free text such as ``"[[Model A is better: [[A>B]] ]]"``) -> ``None`` (invalid)."""
    return GENAI_VOTE_MAP.get(model_vote) if isinstance(model_vote, str) else None


# --------------------------------------------------------------------------------------------
# Matching predictions to items
# --------------------------------------------------------------------------------------------


def _match(
    pred_ids: Sequence[str], item_ids: Sequence[str], predictions: Path, data: Path
) -> dict[str, int]:
    """Position of each prediction id; raises unless the ids are exactly the items' ids."""
    seen: dict[str, int] = {}
    dupes: list[str] = []
    for pos, pid in enumerate(pred_ids):
        if pid in seen:
            dupes.append(pid)
        seen[pid] = pos
    if dupes:
        raise BenchmarkDataError(
            predictions, f"{len(dupes)} duplicate prediction ids, first: {dupes[:_FIRST_IDS]}"
        )
    items = set(item_ids)
    missing = [i for i in item_ids if i not in seen]
    extra = [p for p in pred_ids if p not in items]
    if missing or extra:
        raise BenchmarkDataError(
            predictions,
            f"predictions do not match the benchmark items in {data}: "
            f"{len(pred_ids)} predictions vs {len(item_ids)} items; "
            f"{len(missing)} item ids without a prediction (first: {missing[:_FIRST_IDS]}); "
            f"{len(extra)} prediction ids not in the benchmark (first: {extra[:_FIRST_IDS]})",
        )
    return seen


def _sniff(path: Path) -> str:
    """``"array"`` for a JSON array file, ``"verdicts"`` for flexjudge JSONL, else ``"records"``."""
    try:
        with path.open("r", encoding="utf-8") as fh:
            head = fh.read(4096).lstrip()
    except FileNotFoundError:
        raise BenchmarkDataError(path, "file not found") from None
    if not head:
        raise BenchmarkDataError(path, "file is empty")
    if head.startswith("["):
        return "array"
    lines = iter_jsonl(path)
    try:
        _, first = next(lines)
    finally:
        lines.close()  # release the file now, not at garbage collection
    return "verdicts" if "status" in first else "records"


def _metrics_dict(metrics: Iterable[Metric]) -> dict[str, dict[str, Any]]:
    return {m.name: m.as_dict() for m in metrics}


# --------------------------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------------------------


def _score_pandalm(predictions: Path, data: Path | None) -> dict[str, Any]:
    if data is None:
        raise ConfigError("pandalm needs the test set for labels: pass data=<testset-v1.json>")
    items = load_pandalm_testset(data)
    item_ids = [str(it.idx) for it in items]
    labels = [it.label for it in items]
    if _sniff(predictions) != "array":
        raise BenchmarkDataError(
            predictions, "not a PandaLM result array nor a flexjudge verdict JSONL"
        )
    judgments = load_pandalm_judgments(predictions)
    pos = _match([str(j.idx) for j in judgments], item_ids, predictions, data)
    garbage = 0
    preds: list[int | None] = []
    strict: list[int | None] = []  # garbage as invalid: flexjudge's general rule, for contrast
    for iid in item_ids:
        value, was_garbage = pandalm_prediction(judgments[pos[iid]].result)
        garbage += was_garbage
        preds.append(value)
        strict.append(None if was_garbage else value)
    metrics = classification_metrics(preds, labels, classes=(0, 1, 2))
    if garbage:
        note = f"{garbage} 'garbage' predictions read as tie (PandaLM published rule)"
        metrics = {
            k: Metric(m.name, m.value, m.n, m.n_invalid, f"{m.note}; {note}", m.kind, m.details)
            for k, m in metrics.items()
        }
    strict_acc = classification_metrics(strict, labels, classes=(0, 1, 2))["accuracy"]
    metrics["accuracy_strict"] = Metric(
        "accuracy_strict",
        strict_acc.value,
        strict_acc.n,
        strict_acc.n_invalid,
        "'garbage' counted as invalid (wrong), flexjudge's general rule",
        "rate",
    )
    return {
        "benchmark": "pandalm",
        "split": "test",
        "protocol": (
            "pandalm: label = majority of annotator1..3 (0 tie, 1, 2); prediction 'Tie'/'tie'/'garbage' "
            "-> 0, else int(result); accuracy micro over items; precision/recall/F1 one-vs-rest per "
            "class, 0 where the denominator is 0, unweighted mean over the 3 classes"
        ),
        "predictions": str(predictions),
        "predictions_format": "pandalm_results",
        "data": str(data),
        "n_items": len(items),
        "paper": paper_numbers("pandalm", "test"),
        "counts": {"garbage_read_as_tie": garbage, "invalid": metrics["accuracy"].n_invalid},
        "metrics": _metrics_dict(metrics.values()),
    }


def _genai_labels(data: Path) -> tuple[list[str], list[str]]:
    ids, labels = [], []
    for rec in iter_genai_bench(data):
        ids.append(str(rec.idx))
        labels.append(rec.human_vote)
    return ids, labels


def _score_genai(predictions: Path, data: Path | None, split: str | None) -> dict[str, Any]:
    fmt = _sniff(predictions)
    null_votes = 0
    if fmt == "records":
        pred_ids, raw_votes, own_labels = [], [], []
        for rec in iter_genai_bench(predictions):
            pred_ids.append(str(rec.idx))
            raw_votes.append(rec.model_vote)
            own_labels.append(rec.human_vote)
        if data is None:
            item_ids, labels = pred_ids, own_labels
        else:
            item_ids, labels = _genai_labels(data)
        pos = _match(pred_ids, item_ids, predictions, data or predictions)
        ordered = [raw_votes[pos[i]] for i in item_ids]
        null_votes = sum(1 for v in ordered if v is None)
        preds = [genai_vote(v) for v in ordered]
    else:
        raise BenchmarkDataError(
            predictions, "a JSON array is not a GenAI-Bench predictions format"
        )
    acc = label_accuracy(preds, labels, vocabulary=GENAI_VOTES)
    split = (
        split or genai_bench_task(data or predictions) or genai_bench_task(predictions) or "unknown"
    )
    return {
        "benchmark": "genai_bench",
        "split": split,
        "protocol": (
            "genai_bench: 4-way accuracy vs human_vote, micro over items; [[A>B]]->leftvote, "
            "[[B>A]]->rightvote, [[A=B=Good]]->tievote, [[A=B=Bad]]->bothbad_vote, [[A=B]]->tievote; "
            "anything else (null, free text) invalid and counted wrong"
        ),
        "predictions": str(predictions),
        "predictions_format": "genai_bench_results",
        "data": str(data) if data is not None else None,
        "paper": paper_numbers("genai_bench", split),
        "n_items": len(labels),
        "counts": {
            "invalid": acc.n_invalid,
            "null_votes": null_votes,
            "unmapped_votes": acc.n_invalid - null_votes,
        },
        "metrics": _metrics_dict([acc]),
    }


def score_predictions(
    benchmark: str,
    predictions: Path | str | Sequence[Path | str],
    data: Path | str | None = None,
    *,
    split: str | None = None,
) -> dict[str, Any]:
    """Score a predictions file against a benchmark and return the ``metrics.json`` dict.

    ``benchmark``: ``"pandalm"`` (``predictions`` = a PandaLM judge result array or flexjudge
    verdicts; ``data`` = ``testset-v1.json``, required) or ``"genai_bench"`` (``predictions`` =
    a GenAI-Bench ``pairwise.jsonl`` with ``model_vote`` and ``human_vote`` - ``data`` optional,
    it then supplies the human votes - or flexjudge verdicts, with ``data`` = a GenAI-Bench
    ``pairwise.jsonl`` for the human votes). ``split`` overrides the split name (for GenAI-Bench
    it is otherwise read from the path: ``image_generation`` / ``image_edition`` / ``video_generation``).

    The dict holds ``benchmark``, ``split``, ``protocol``, ``predictions``, ``predictions_format``,
    ``data``, ``n_items``, ``counts`` and ``metrics`` (name -> value, n, n_invalid, kind, note).
    Rates are fractions in [0, 1]. Predictions whose ids or count do not match the items raise
    :class:`BenchmarkDataError` with both counts and the first offending ids.

    Invalid predictions count as wrong and are reported in ``n_invalid`` and ``counts``, with
    one documented exception: a PandaLM result of ``"garbage"`` is read as a tie, because that
    is PandaLM's published protocol (see :func:`pandalm_prediction`); how many there were is
    reported as ``counts["garbage_read_as_tie"]``, and ``metrics["accuracy_strict"]`` gives the
    accuracy with them counted wrong.
    """
    files = (
        [Path(predictions)]
        if isinstance(predictions, (str, Path))
        else [Path(p) for p in predictions]
    )
    if not files:
        raise ConfigError("no predictions file given")
    predictions = files[0]
    data_path = Path(data) if data is not None else None
    from flexjudge.bench.suites import benchmark_names, canonical

    key = canonical(benchmark)
    if key not in benchmark_names():
        raise ConfigError(
            f"unknown benchmark {benchmark!r}: use one of {', '.join(benchmark_names())}"
        )
    if _sniff(predictions) == "verdicts":  # flexjudge's own format: the harness scores it
        from flexjudge.bench.harness import score_verdicts

        if data is None:
            raise ConfigError(f"scoring flexjudge verdicts of {key} needs its items: pass --data")
        return score_verdicts(key, files, data, split=split)
    if len(files) > 1:
        raise ConfigError(
            "several predictions files are read only in flexjudge's verdict format (the "
            "shards of a run); a published judge-output file is scored alone"
        )
    if key == "pandalm":
        return _score_pandalm(predictions, data_path)
    if key == "genai_bench":
        return _score_genai(predictions, data_path, split)
    raise ConfigError(
        f"{key}: only flexjudge verdict files can be scored; published judge-output "
        f"formats are read for {', '.join(BENCHMARKS)}"
    )


def metrics_json(result: dict[str, Any]) -> str:
    """The ``metrics.json`` text (stable key order, 2-space indent)."""
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
