"""Every benchmark metric of flexjudge, in one module.

Conventions shared by all functions here (each docstring repeats the rule that applies):

* An **invalid prediction** is ``None`` (the judge gave no usable answer). It is never turned
  into a tie or a default score. Every function returns a :class:`Metric` that carries the
  value *and* ``n_invalid``, so how many answers were unusable is always visible.
* **Accuracy-like metrics** (``kind="rate"``, values in [0, 1]): an invalid prediction counts as
  wrong and is counted in ``n_invalid``; ``n`` is the number of items scored.
* **Correlations** (``kind="correlation"``): invalid predictions are left out of the computation
  and counted in ``n_invalid``; ``n`` is the number of items (or systems) given, valid or not.
  The value is ``None`` when it is undefined (fewer than two valid pairs, or a constant side);
  it is never replaced by a constant such as 0.
* **Distances** (``kind="distance"``, lower is better): an invalid prediction scores the worst
  normalised distance, 1.0, and is counted in ``n_invalid``.
* **Aggregation**: every function is *micro* over the items it is given. Use
  :func:`by_source` + :func:`macro_average` for the *macro* average over source datasets that
  MLLM-as-a-Judge and VL-RewardBench report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np

MetricKind = Literal["rate", "correlation", "distance"]

#: The four GenAI-Bench human votes (the 4-way label space, ties included).
GENAI_VOTES: tuple[str, ...] = ("leftvote", "rightvote", "tievote", "bothbad_vote")

#: MLLM-as-a-Judge pair labels: A better, B better, C = tie.
PAIR_CHOICES: tuple[str, ...] = ("A", "B", "C")

_L = TypeVar("_L", bound=Hashable)


@dataclass(frozen=True)
class Metric:
    """One metric value with the counts needed to judge it.

    ``value`` is ``None`` when the metric is undefined on the given items (see the function that
    produced it). ``details`` holds extra counts or per-class values (JSON-serialisable numbers).
    """

    name: str
    value: float | None
    n: int
    n_invalid: int
    note: str = ""
    kind: MetricKind = "rate"
    details: Mapping[str, float | int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form written into ``metrics.json``."""
        out: dict[str, Any] = {
            "value": self.value,
            "n": self.n,
            "n_invalid": self.n_invalid,
            "kind": self.kind,
        }
        if self.note:
            out["note"] = self.note
        if self.details:
            out["details"] = dict(self.details)
        return out


def _check_lengths(a: Sequence[Any], b: Sequence[Any], what: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{what}: {len(a)} predictions but {len(b)} labels")


def _check_labels(labels: Sequence[Any], vocabulary: Sequence[Any], what: str) -> None:
    allowed = set(vocabulary)
    for i, label in enumerate(labels):
        if label not in allowed:
            raise ValueError(
                f"{what}: label {label!r} at index {i} is not one of {list(vocabulary)}"
            )


def _rate(
    name: str, correct: int, n: int, n_invalid: int, note: str = "", **details: float | int
) -> Metric:
    return Metric(name, correct / n if n else None, n, n_invalid, note, "rate", details)


# --------------------------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------------------------


def label_accuracy(
    preds: Sequence[_L | None],
    labels: Sequence[_L],
    *,
    vocabulary: Sequence[_L] = GENAI_VOTES,  # type: ignore[assignment]
    name: str = "accuracy",
) -> Metric:
    """Exact-match accuracy over a closed label set (default: GenAI-Bench's 4 votes).

    Rule: micro over all items; ``value = correct / n`` with ``n = len(labels)``.
    Ties: a tie label (``tievote``, ``bothbad_vote``) is an ordinary class, scored like the others.
    Invalid: a prediction that is ``None`` or outside ``vocabulary`` counts as wrong and is counted
    in ``n_invalid``. A label outside ``vocabulary`` raises ``ValueError`` (bad benchmark data).
    Empty input gives ``value=None``.
    """
    _check_lengths(preds, labels, name)
    _check_labels(labels, vocabulary, name)
    allowed = set(vocabulary)
    n_invalid = sum(1 for p in preds if p is None or p not in allowed)
    correct = sum(1 for p, y in zip(preds, labels) if p is not None and p == y)
    return _rate(name, correct, len(labels), n_invalid, "invalid predictions count as wrong")


def pairwise_accuracy(
    preds: Sequence[str | None],
    labels: Sequence[str],
    *,
    with_tie: bool = True,
    choices: Sequence[str] = PAIR_CHOICES,
    tie: str = "C",
    name: str | None = None,
) -> Metric:
    """Pairwise accuracy, "with tie" or "without tie" (MLLM-as-a-Judge's two Pair columns).

    Rule, ``with_tie=True``: micro accuracy over all items; the tie label is one of the choices.
    Rule, ``with_tie=False``: items whose *human* label is ``tie`` are dropped first (their count
    is reported as ``details["dropped_human_ties"]``); on the rest a predicted tie is simply
    wrong, it is never dropped. ``n`` counts the items kept.
    Invalid: ``None`` or a prediction outside ``choices`` counts as wrong and is counted in
    ``n_invalid`` (only among the kept items). A label outside ``choices`` raises ``ValueError``.
    Aggregation: micro over the items given; use :func:`by_source` and :func:`macro_average`
    for the macro average over source datasets that the benchmark reports.
    """
    name = name or ("pair_with_tie" if with_tie else "pair_without_tie")
    _check_lengths(preds, labels, name)
    _check_labels(labels, choices, name)
    if tie not in choices:
        raise ValueError(f"{name}: tie label {tie!r} is not one of {list(choices)}")
    allowed = set(choices)
    kept = [(p, y) for p, y in zip(preds, labels) if with_tie or y != tie]
    n_invalid = sum(1 for p, _ in kept if p is None or p not in allowed)
    correct = sum(1 for p, y in kept if p is not None and p == y)
    if with_tie:
        return _rate(name, correct, len(kept), n_invalid, "invalid predictions count as wrong")
    return _rate(
        name,
        correct,
        len(kept),
        n_invalid,
        "human ties dropped; predicted ties and invalid predictions count as wrong",
        dropped_human_ties=len(labels) - len(kept),
    )


def accuracy_by_category(
    preds: Sequence[str | None],
    labels: Sequence[str],
    groups: Sequence[str],
    categories: Sequence[str],
    *,
    unknown: str = "unknown",
) -> dict[str, Metric]:
    """Pairwise accuracy overall and per category (VL-RewardBench, Multimodal RewardBench).

    Rule: ``overall`` is micro over all items; each name in ``categories`` is micro over the
    items of that group (``value=None``, ``n=0`` when it has none); items whose group is not a
    category count in ``overall`` only and are reported under ``unknown`` when there are any.
    Labels are ``"A"`` / ``"B"``; a predicted tie and an invalid prediction count as wrong.
    """

    def acc(p: Sequence[str | None], y: Sequence[str], name: str) -> Metric:
        return pairwise_accuracy(
            p, y, with_tie=True, choices=("A", "B", "tie"), tie="tie", name=name
        )

    out = {"overall": acc(preds, labels, "overall")}
    for cat in categories:
        idx = [i for i, g in enumerate(groups) if g == cat]
        out[cat] = acc([preds[i] for i in idx], [labels[i] for i in idx], cat)
    rest = [i for i, g in enumerate(groups) if g not in set(categories)]
    if rest:
        m = acc([preds[i] for i in rest], [labels[i] for i in rest], unknown)
        out[unknown] = Metric(
            unknown,
            m.value,
            m.n,
            m.n_invalid,
            "items of an unknown category: in overall only",
            m.kind,
            m.details,
        )
    return out


def classification_metrics(
    preds: Sequence[_L | None],
    labels: Sequence[_L],
    *,
    classes: Sequence[_L] = (0, 1, 2),  # type: ignore[assignment]
) -> dict[str, Metric]:
    """PandaLM-style accuracy, precision, recall and F1 (keys ``accuracy``, ``precision``,
    ``recall``, ``f1``).

    Rule: accuracy is micro over all items. Precision, recall and F1 are computed per class
    one-vs-rest (``tp / predicted-as-c``, ``tp / labelled-c``, ``2PR / (P + R)``), each 0 where
    its denominator is 0, then averaged *unweighted* over ``classes`` (F1 is the mean of the
    per-class F1s, not the F1 of the mean P and R). Per-class values are in ``details``.
    Invalid: ``None`` or a prediction outside ``classes`` counts as wrong for accuracy, as a
    false negative for its true class (lowering recall) and as a false positive for no class.
    ``n_invalid`` is the same on all four metrics. A label outside ``classes`` raises ``ValueError``.
    """
    _check_lengths(preds, labels, "classification")
    _check_labels(labels, classes, "classification")
    allowed = set(classes)
    n = len(labels)
    n_invalid = sum(1 for p in preds if p is None or p not in allowed)
    correct = sum(1 for p, y in zip(preds, labels) if p is not None and p == y)
    per: dict[str, dict[str, float]] = {"precision": {}, "recall": {}, "f1": {}}
    for c in classes:
        tp = sum(1 for p, y in zip(preds, labels) if p == c and y == c)
        predicted = sum(1 for p in preds if p == c)
        actual = sum(1 for y in labels if y == c)
        prec = tp / predicted if predicted else 0.0
        rec = tp / actual if actual else 0.0
        per["precision"][str(c)] = prec
        per["recall"][str(c)] = rec
        per["f1"][str(c)] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    note = "one-vs-rest per class, 0 where denominator is 0, unweighted mean over classes"
    out = {
        "accuracy": _rate("accuracy", correct, n, n_invalid, "invalid predictions count as wrong")
    }
    for key, values in per.items():
        mean = sum(values.values()) / len(classes) if n else None
        out[key] = Metric(
            key, mean, n, n_invalid, note, "rate", {f"class_{c}": v for c, v in values.items()}
        )
    return out


# --------------------------------------------------------------------------------------------
# Correlations
# --------------------------------------------------------------------------------------------


def _valid_pairs(
    preds: Sequence[float | None], targets: Sequence[float], what: str
) -> tuple[np.ndarray, np.ndarray, int]:
    _check_lengths(preds, targets, what)
    xs: list[float] = []
    ys: list[float] = []
    n_invalid = 0
    for i, (p, t) in enumerate(zip(preds, targets)):
        if t is None or not math.isfinite(float(t)):
            raise ValueError(f"{what}: target at index {i} is not a finite number: {t!r}")
        if p is None or not math.isfinite(float(p)):
            n_invalid += 1
            continue
        xs.append(float(p))
        ys.append(float(t))
    return np.asarray(xs), np.asarray(ys), n_invalid


def _correlation(
    name: str,
    method: Literal["pearson", "spearman"],
    preds: Sequence[float | None],
    targets: Sequence[float],
) -> Metric:
    from scipy import stats  # scipy is the optional `bench` extra; import where needed

    x, y, n_invalid = _valid_pairs(preds, targets, name)
    base = "invalid predictions excluded"
    if len(x) < 2:
        return Metric(
            name,
            None,
            len(preds),
            n_invalid,
            f"{base}; undefined: fewer than 2 valid pairs",
            "correlation",
        )
    if np.all(x == x[0]) or np.all(y == y[0]):
        side = "predictions" if np.all(x == x[0]) else "targets"
        return Metric(
            name, None, len(preds), n_invalid, f"{base}; undefined: constant {side}", "correlation"
        )
    r = stats.pearsonr(x, y)[0] if method == "pearson" else stats.spearmanr(x, y)[0]
    return Metric(name, float(r), len(preds), n_invalid, base, "correlation")


def pearson(
    preds: Sequence[float | None], targets: Sequence[float], *, name: str = "pearson"
) -> Metric:
    """Pearson's r (scipy.stats.pearsonr) between predictions and targets.

    Rule: micro over the valid pairs. Invalid: a ``None`` or non-finite prediction is excluded
    and counted in ``n_invalid``; ``n`` is the number of items given. The value is ``None``
    (never 0, unlike the official MLLM-as-a-Judge scorer's NaN -> 0) when fewer than two valid
    pairs remain or one side is constant. A non-finite target raises ``ValueError``.
    """
    return _correlation(name, "pearson", preds, targets)


def spearman(
    preds: Sequence[float | None], targets: Sequence[float], *, name: str = "spearman"
) -> Metric:
    """Spearman's rho (scipy.stats.spearmanr, average ranks for ties) between predictions and targets.

    Same rules as :func:`pearson`: invalid predictions excluded and counted, ``None`` when undefined.
    """
    return _correlation(name, "spearman", preds, targets)


def utterance_correlations(
    preds: Sequence[float | None], targets: Sequence[float]
) -> dict[str, Metric]:
    """Audio MOS at utterance level: ``utterance_lcc`` (Pearson) and ``utterance_srcc`` (Spearman).

    Rule: one pair per utterance, micro over utterances. Invalid (``None``) predictions are
    excluded and counted; no fallback score (the official scripts' 3.0 / 3.5 / 0.0) is used.
    """
    return {
        "utterance_lcc": pearson(preds, targets, name="utterance_lcc"),
        "utterance_srcc": spearman(preds, targets, name="utterance_srcc"),
    }


def system_correlations(
    preds: Sequence[float | None],
    targets: Sequence[float],
    systems: Sequence[str],
    *,
    system_targets: Mapping[str, float] | None = None,
) -> dict[str, Metric]:
    """Audio MOS at system level: ``system_lcc`` and ``system_srcc``.

    Rule: per system, the prediction is the mean of that system's *valid* utterance predictions;
    the target is ``system_targets[system]`` when given (e.g. SOMOS ``test_system.csv``), else
    the mean of all that system's utterance targets. Then one Pearson / Spearman over systems.
    Invalid: ``None`` utterance predictions are left out of the system mean (their count is in
    ``details["invalid_utterances"]``); a system with no valid prediction is excluded and counted
    in ``n_invalid``. ``n`` is the number of systems.
    """
    _check_lengths(preds, targets, "system_correlations")
    _check_lengths(systems, targets, "system_correlations")
    pred_sums: dict[str, list[float]] = {}
    target_sums: dict[str, list[float]] = {}
    bad_utts = 0
    for p, t, s in zip(preds, targets, systems):
        target_sums.setdefault(s, []).append(float(t))
        pred_sums.setdefault(s, [])
        if p is None or not math.isfinite(float(p)):
            bad_utts += 1
        else:
            pred_sums[s].append(float(p))
    names = list(target_sums)
    sys_preds: list[float | None] = [
        float(np.mean(pred_sums[s])) if pred_sums[s] else None for s in names
    ]
    if system_targets is not None:
        missing = [s for s in names if s not in system_targets]
        if missing:
            raise ValueError(f"system_targets lacks systems {missing[:5]} ({len(missing)} in all)")
        sys_targets = [float(system_targets[s]) for s in names]
    else:
        sys_targets = [float(np.mean(target_sums[s])) for s in names]
    out = {}
    for key, fn in (("system_lcc", pearson), ("system_srcc", spearman)):
        m = fn(sys_preds, sys_targets, name=key)
        out[key] = Metric(
            key,
            m.value,
            m.n,
            m.n_invalid,
            "per-system mean of valid predictions; systems without any excluded",
            "correlation",
            {"invalid_utterances": bad_utts},
        )
    return out


# --------------------------------------------------------------------------------------------
# Batch ranking distance
# --------------------------------------------------------------------------------------------


def normalized_levenshtein(pred: str, target: str) -> float:
    """Levenshtein distance (rapidfuzz) divided by ``max(len(pred), len(target))``; 0.0 for two
    empty strings. 0 = identical ranking strings, 1 = nothing in common position-wise."""
    from rapidfuzz.distance import Levenshtein

    longest = max(len(pred), len(target))
    return Levenshtein.distance(pred, target) / longest if longest else 0.0


def ranking_distance(
    preds: Sequence[str | None], targets: Sequence[str], *, name: str = "batch_distance"
) -> Metric:
    """Mean normalised Levenshtein distance between predicted and human ranking strings
    (e.g. ``"CDAB"``); lower is better.

    Rule: micro mean over items. Invalid: a ``None`` prediction scores 1.0, the worst possible
    normalised distance (what an empty ranking scores too), and is counted in ``n_invalid``.
    Empty input gives ``value=None``.
    """
    _check_lengths(preds, targets, name)
    dists = [1.0 if p is None else normalized_levenshtein(p, t) for p, t in zip(preds, targets)]
    n_invalid = sum(1 for p in preds if p is None)
    value = float(np.mean(dists)) if dists else None
    return Metric(name, value, len(targets), n_invalid, "invalid predictions score 1.0", "distance")


# --------------------------------------------------------------------------------------------
# Aggregation over sources
# --------------------------------------------------------------------------------------------


def by_source(
    metric: Callable[..., Metric],
    sources: Sequence[str],
    *columns: Sequence[Any],
    **kwargs: Any,
) -> dict[str, Metric]:
    """Apply ``metric`` separately to the items of each source (first-seen order).

    ``columns`` are aligned with ``sources`` (e.g. ``preds, labels``); ``kwargs`` go to ``metric``.
    """
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(sources):
        groups.setdefault(s, []).append(i)
    for col in columns:
        _check_lengths(col, sources, "by_source")
    return {
        s: metric(*[[col[i] for i in idx] for col in columns], **kwargs)
        for s, idx in groups.items()
    }


def macro_average(per_source: Mapping[str, Metric], *, name: str = "macro") -> Metric:
    """Unweighted mean of per-source values (the "Ave." / "Macro" columns of the papers).

    Rule: every source weighs the same, whatever its size. ``n`` and ``n_invalid`` are the sums
    over sources. A source whose value is ``None`` (undefined) is left out of the mean, counted
    in ``details["undefined_sources"]`` and named in ``note``; ``value`` is ``None`` when no source
    is defined. All sources must share one metric kind.
    """
    kinds = {m.kind for m in per_source.values()}
    if len(kinds) > 1:
        raise ValueError(f"macro_average: mixed metric kinds {sorted(kinds)}")
    defined = [m.value for m in per_source.values() if m.value is not None]
    undefined = [s for s, m in per_source.items() if m.value is None]
    note = f"unweighted mean over {len(defined)} sources"
    if undefined:
        note += f"; undefined, left out: {', '.join(undefined)}"
    return Metric(
        name,
        float(np.mean(defined)) if defined else None,
        sum(m.n for m in per_source.values()),
        sum(m.n_invalid for m in per_source.values()),
        note,
        kinds.pop() if kinds else "rate",
        {"sources": len(per_source), "undefined_sources": len(undefined)},
    )


# --------------------------------------------------------------------------------------------
# Accuracy with and without predicted ties (MJ-Bench)
# --------------------------------------------------------------------------------------------


def accuracy_with_without_tie(
    preds: Sequence[str | None],
    labels: Sequence[str],
    *,
    choices: Sequence[str] = ("A", "B"),
    tie: str = "tie",
) -> dict[str, Metric]:
    """MJ-Bench's two accuracies: ``accuracy_with_tie`` and ``accuracy_without_tie``.

    The human labels never tie (one image is always preferred); the *judge* may answer a tie.
    Rule, ``accuracy_with_tie``: micro over all items; a predicted tie counts as wrong.
    Rule, ``accuracy_without_tie``: items whose *prediction* is a tie are excluded first (their
    count is ``details["predicted_ties_excluded"]``); micro accuracy over the rest. This is the
    reading under which MJ-Bench's published pairs make sense (GPT-4o safety: 35.3 with tie,
    100.0 without tie - a judge that ties on most items and is right whenever it decides).
    Invalid: ``None`` or a prediction outside ``choices`` and ``tie`` counts as wrong in both
    metrics and is counted in ``n_invalid``; an invalid prediction is never taken for a tie,
    so it is never excluded. ``n`` is the number of items scored (kept, for without-tie).
    ``value`` is ``None`` when no item is scored (e.g. every prediction a tie).
    A label outside ``choices`` raises ``ValueError`` (bad benchmark data).
    Aggregation: micro over the items given; no averaging over sub-categories.
    """
    _check_lengths(preds, labels, "accuracy_with_without_tie")
    _check_labels(labels, choices, "accuracy_with_without_tie")
    allowed = set(choices) | {tie}
    invalid = [p is None or p not in allowed for p in preds]
    correct = [p is not None and p == y for p, y in zip(preds, labels)]
    kept = [i for i, p in enumerate(preds) if p != tie]
    n_ties = len(preds) - len(kept)
    with_tie = _rate(
        "accuracy_with_tie",
        sum(correct),
        len(labels),
        sum(invalid),
        "predicted ties and invalid predictions count as wrong",
        predicted_ties=n_ties,
    )
    without_tie = _rate(
        "accuracy_without_tie",
        sum(correct[i] for i in kept),
        len(kept),
        sum(invalid[i] for i in kept),
        "items predicted as tie excluded; invalid predictions count as wrong",
        predicted_ties_excluded=n_ties,
    )
    return {"accuracy_with_tie": with_tie, "accuracy_without_tie": without_tie}


# --------------------------------------------------------------------------------------------
# Best-of-N selection
# --------------------------------------------------------------------------------------------


def best_of_n(
    molecules: list[str], scores: list[float | None], correct: list[bool]
) -> dict[str, Metric]:
    """Best-of-N selection by a judge: ``best_of_n_accuracy`` and ``candidate_accuracy``.

    ``molecules[i]`` groups candidate i with the other candidates of its molecule (or prompt),
    ``scores[i]`` is the judge's score of it (``None``: invalid), ``correct[i]`` whether the
    candidate itself is right. Rule: per molecule, the candidate with the top valid score is
    chosen; a tie at the top counts as the share of correct candidates among the tied ones (the
    expected value of a random tie-break). A molecule with no valid score counts as wrong and
    is counted in ``n_invalid``. ``candidate_accuracy`` is the mean share of correct candidates
    per molecule (a random pick, the baseline the judge must beat). Both are micro over
    molecules; ``n`` is the number of molecules.
    """
    per: dict[str, list[tuple[float | None, bool]]] = {}
    for m, s, c in zip(molecules, scores, correct):
        per.setdefault(m, []).append((s, c))
    chosen: list[float] = []
    random_pick: list[float] = []
    no_valid = 0
    for cands in per.values():
        random_pick.append(sum(c for _, c in cands) / len(cands))
        valid = [(s, c) for s, c in cands if s is not None]
        if not valid:
            no_valid += 1
            chosen.append(0.0)
            continue
        top = max(s for s, _ in valid)
        tied = [c for s, c in valid if s == top]
        chosen.append(sum(tied) / len(tied))
    n = len(per)
    sizes = [len(c) for c in per.values()]
    details: Mapping[str, float | int] = {
        "molecules": n,
        "candidates": len(scores),
        "invalid_candidates": sum(s is None for s in scores),
        "min_n": min(sizes, default=0),
        "max_n": max(sizes, default=0),
    }
    return {
        "best_of_n_accuracy": Metric(
            "best_of_n_accuracy",
            sum(chosen) / n if n else None,
            n,
            no_valid,
            "top judge score per molecule; ties = expected accuracy of a random tie-break; "
            "molecules without a valid verdict wrong",
            "rate",
            details,
        ),
        "candidate_accuracy": Metric(
            "candidate_accuracy",
            sum(random_pick) / n if n else None,
            n,
            0,
            "mean fraction of correct candidates per molecule (a random pick, judge not used)",
            "rate",
            details,
        ),
    }
