"""What a run got right and how sure it was, over verdict JSON objects and aligned golds.

* :func:`item_correct` - the one per-item rule the report uses: the verdict matches the human
  outcome exactly (label, ranking, else winner); an invalid or error verdict is wrong; an item
  with only a human score has no right or wrong (its error is ``score - gold``).
* :func:`status_summary` - ok / invalid / error counts and the parser's reason codes.
* :func:`category_accuracy` - accuracy per group (category, source dataset, split).
* :func:`agreement_reliability` - is vote agreement a usable confidence? Accuracy per agreement
  bin, beside the bin's mean agreement (a reliability diagram), and the expected calibration
  error.
* :func:`score_histograms` - verdict scores (and human scores) per group.

Benchmarks' headline metrics keep their own rules (``flexjudge.bench.metrics``); these are
the report's plain per-item views.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from flexjudge.bench.audit.bias import Golds, Verdicts, rate, vote_winner
from flexjudge.parsing import REASONS
from flexjudge.run.items import Gold

__all__ = [
    "DEFAULT_AGREEMENT_EDGES",
    "agreement_reliability",
    "category_accuracy",
    "item_correct",
    "score_error",
    "score_histograms",
    "status_summary",
]

#: Ten equal bins over [0, 1]; a bin is [lo, hi), the last one [0.9, 1.0].
DEFAULT_AGREEMENT_EDGES: tuple[float, ...] = tuple(k / 10 for k in range(11))


def item_correct(verdict: Mapping[str, Any], gold: Gold | None) -> bool | None:
    """Whether the verdict matches the human outcome; ``None`` when the gold cannot say."""
    if gold is None:
        return None
    task = verdict.get("task")
    ok = verdict.get("status") == "ok"
    if task == "label" and gold.label is not None:
        return ok and verdict.get("label") == gold.label
    if gold.ranking is not None:
        return ok and list(verdict.get("ranking") or []) == list(gold.ranking)
    if gold.winner is not None:
        return ok and vote_winner(verdict) == gold.winner
    return None


def score_error(verdict: Mapping[str, Any], gold: Gold | None) -> float | None:
    """``score - gold.score`` for a scored item with a human score, else ``None``."""
    scores = verdict.get("scores")
    if gold is None or gold.score is None or verdict.get("status") != "ok" or not scores:
        return None
    return float(scores[0]) - gold.score


def status_summary(verdicts: Verdicts) -> dict[str, Any]:
    """Counts of verdicts by status and of votes by parse outcome. ``vote_reasons``: the
    invalid votes' parser reason codes (``"engine_error"`` for a vote the engine failed),
    each with its meaning from :data:`flexjudge.parsing.REASONS`; ``errors``: the most common
    error messages of invalid and error verdicts."""
    status: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    n_votes = n_valid = 0
    for v in verdicts:
        status[str(v.get("status"))] += 1
        if v.get("status") != "ok" and v.get("error"):
            errors[str(v["error"])[:200]] += 1
        for vote in v.get("votes") or []:
            n_votes += 1
            if vote.get("valid"):
                n_valid += 1
            else:
                reasons[str(vote.get("reason") or "engine_error")] += 1
    return {
        "items": sum(status.values()),
        "ok": status["ok"],
        "invalid": status["invalid"],
        "error": status["error"],
        "votes": n_votes,
        "valid_votes": n_valid,
        "valid_vote_rate": rate(n_valid, n_votes),
        "vote_reasons": {
            code: {"n": n, "meaning": REASONS.get(code, "the engine returned no output")}
            for code, n in reasons.most_common()
        },
        "errors": [{"message": m, "n": n} for m, n in errors.most_common(10)],
    }


def category_accuracy(
    verdicts: Verdicts, golds: Golds, groups: Sequence[str | None]
) -> dict[str, dict[str, Any]]:
    """Per group (``None`` reads as ``"all"``), over items :func:`item_correct` can decide:
    ``n``, ``correct``, ``invalid`` (not ok, counted wrong) and ``accuracy``; sorted by name."""
    counts: dict[str, Counter[str]] = {}
    for i, v in enumerate(verdicts):
        right = item_correct(v, golds[i] if golds is not None else None)
        if right is None:
            continue
        c = counts.setdefault(groups[i] or "all", Counter())
        c["n"] += 1
        c["correct"] += right
        c["invalid"] += v.get("status") != "ok"
    return {
        g: {
            "n": c["n"],
            "correct": c["correct"],
            "invalid": c["invalid"],
            "accuracy": rate(c["correct"], c["n"]),
        }
        for g, c in sorted(counts.items())
    }


def agreement_reliability(
    verdicts: Verdicts, golds: Golds = None, *, edges: Sequence[float] = DEFAULT_AGREEMENT_EDGES
) -> dict[str, Any]:
    """Vote agreement as a confidence, over ok verdicts with two or more valid votes (one
    vote always agrees with itself, so single-vote items are counted and left out).

    Per bin of ``agreement`` (``[lo, hi)``, the last bin closed): ``n``, ``mean_agreement``,
    and with gold ``correct`` and ``accuracy``. ``ece``: the expected calibration error,
    sum over bins of ``n_b / N * |accuracy_b - mean_agreement_b|``, over items with a decided
    correctness. Without gold only the distribution is given.
    """
    edges = sorted(edges)
    n_bins = len(edges) - 1
    ns = [0] * n_bins
    sums = [0.0] * n_bins
    judged = [0] * n_bins
    judged_sums = [0.0] * n_bins
    right = [0] * n_bins
    single = 0
    for i, v in enumerate(verdicts):
        agreement = v.get("agreement")
        if v.get("status") != "ok" or agreement is None:
            continue
        if (v.get("n_valid") or 0) < 2:
            single += 1
            continue
        k = min(max(sum(agreement >= e for e in edges[1:]), 0), n_bins - 1)
        ns[k] += 1
        sums[k] += agreement
        correct = item_correct(v, golds[i] if golds is not None else None)
        if correct is not None:
            judged[k] += 1
            judged_sums[k] += agreement
            right[k] += correct
    rows = []
    total = sum(judged)
    ece = 0.0
    for k in range(n_bins):
        if not ns[k]:
            continue
        row: dict[str, Any] = {
            "lo": edges[k],
            "hi": edges[k + 1],
            "n": ns[k],
            "mean_agreement": sums[k] / ns[k],
        }
        if judged[k]:
            acc = right[k] / judged[k]
            row.update(correct=right[k], judged=judged[k], accuracy=acc)
            ece += judged[k] / total * abs(acc - judged_sums[k] / judged[k])
        rows.append(row)
    return {
        "bins": rows,
        "items": sum(ns),
        "single_vote_items": single,
        "judged_items": total,
        "ece": ece if total else None,
    }


def _value_counts(values: Sequence[float]) -> list[list[float]]:
    return [[v, n] for v, n in sorted(Counter(round(x, 2) for x in values).items())]


def score_histograms(
    verdicts: Verdicts, groups: Sequence[str | None] | None = None, golds: Golds = None
) -> dict[str, dict[str, Any]]:
    """Per group, and over ``"all"`` items when there are several groups: ``judge``, the value
    counts (``[value, count]``, values rounded to 2 decimals) of every score of ok verdicts
    (each response's aggregated score), and ``human``, those of the items' human scores."""
    judge: dict[str, list[float]] = {}
    human: dict[str, list[float]] = {}
    for i, v in enumerate(verdicts):
        group = (groups[i] if groups is not None else None) or "all"
        gold = golds[i] if golds is not None else None
        names = [group] if group == "all" else [group, "all"]
        for name in names:
            if v.get("status") == "ok" and v.get("scores"):
                judge.setdefault(name, []).extend(float(s) for s in v["scores"])
            if gold is not None and gold.score is not None:
                human.setdefault(name, []).append(gold.score)
    keys = sorted(set(judge) | set(human), key=lambda g: (g != "all", g))
    if keys == ["all"] or len(keys) == 2:  # one real group: "all" says the same
        keys = keys[:1] if keys == ["all"] else [k for k in keys if k != "all"]
    return {
        g: {
            "n": len(judge.get(g, [])),
            "judge": _value_counts(judge.get(g, [])),
            "human": _value_counts(human.get(g, [])),
        }
        for g in keys
    }
