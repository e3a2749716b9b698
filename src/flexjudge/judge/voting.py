"""Aggregate votes into a verdict. Invalid votes are skipped and counted, never imputed.

Rules (also in the README):

* **score** – the verdict score is the *mean* (default) or *median* of the valid votes'
  scores. ``agreement`` is the share of valid votes equal to the most common score.
* **pairwise** – plurality of the valid votes' winners (A, B or tie). When two outcomes have
  the same count, the one favoured by the mean score difference (A minus B over valid votes)
  wins; if that difference is zero too, the verdict is a tie where ties are allowed and
  *invalid* ("votes split evenly") where they are not. Scores are the per-response mean or
  median.
* **label** – plurality of the valid votes' verdicts; on equal counts the verdict seen first
  wins (vote order is deterministic: first presentation order first, then sample index).
* **batch** – responses are ordered by mean rank over the valid votes (1 = best); equal mean
  ranks fall back to the higher aggregated score, then to the caller's order. ``agreement``
  is the share of valid votes whose ranking equals the aggregated one.

``agreement`` is always computed over valid votes; ``n_valid``/``n_votes`` say how many.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Literal

from flexjudge.errors import ConfigError
from flexjudge.request import Task, letter
from flexjudge.verdict import Verdict, Vote

ScoreReduce = Literal["mean", "median"]
LABEL_WINNERS = {"[[A>B]]": "A", "[[B>A]]": "B", "[[A=B=Good]]": "tie", "[[A=B=Bad]]": "tie"}


def reduce_scores(values: Sequence[float], how: ScoreReduce) -> float:
    if how == "mean":
        return float(statistics.fmean(values))
    if how == "median":
        return float(statistics.median(values))
    raise ConfigError(f"unknown score aggregation {how!r}: use mean or median")


def aggregate(
    votes: Sequence[Vote],
    task: Task,
    *,
    tie: bool = True,
    score_reduce: ScoreReduce = "mean",
    request_id: str | int | float | None = None,
) -> Verdict:
    """Turn the votes of one request (all orders) into its verdict."""
    valid = [v for v in votes if v.valid]
    base: dict[str, Any] = dict(
        id=request_id, task=task.value, n_votes=len(votes), n_valid=len(valid), votes=list(votes)
    )
    if not valid:
        reasons = Counter(v.reason or "error" for v in votes)
        summary = ", ".join(f"{k} x{n}" for k, n in reasons.most_common())
        return Verdict(status="invalid", error=f"no valid vote ({summary})", **base)
    fields = _DISPATCH[task](valid, tie, score_reduce)
    if "error" in fields:
        return Verdict(status="invalid", **base, **fields)
    fields["order_agreement"] = _order_agreement(valid, task, tie, score_reduce)
    return Verdict(status="ok", **base, **fields)


def _score(valid: Sequence[Vote], tie: bool, how: ScoreReduce) -> dict[str, Any]:
    values = [v.scores[0] for v in valid if v.scores]
    score = reduce_scores(values, how)
    mode_count = Counter(values).most_common(1)[0][1]
    closest = min(valid, key=lambda v: abs((v.scores or [0])[0] - score))
    return dict(scores=[score], agreement=mode_count / len(values), reasoning=closest.reasoning)


def _per_response(valid: Sequence[Vote], how: ScoreReduce) -> list[float]:
    n = len(valid[0].scores or [])
    return [reduce_scores([(v.scores or [])[i] for v in valid], how) for i in range(n)]


def _pairwise(valid: Sequence[Vote], tie: bool, how: ScoreReduce) -> dict[str, Any]:
    counts = Counter(v.winner for v in valid)
    scores = _per_response(valid, how)
    top = counts.most_common()
    best_n = top[0][1]
    leaders = {w for w, n in top if n == best_n}
    if len(leaders) == 1:
        winner = top[0][0]
    else:
        diff = statistics.fmean((v.scores or [0, 0])[0] - (v.scores or [0, 0])[1] for v in valid)
        if diff > 0 and "A" in leaders:
            winner = "A"
        elif diff < 0 and "B" in leaders:
            winner = "B"
        elif tie:
            winner = "tie"
        else:
            return dict(error="votes split evenly with equal mean scores", scores=scores)
    return dict(
        winner=winner,
        scores=scores,
        agreement=counts[winner] / len(valid),
        reasoning=_first_reasoning(valid, lambda v: v.winner == winner),
    )


def _label(valid: Sequence[Vote], tie: bool, how: ScoreReduce) -> dict[str, Any]:
    counts = Counter(v.label for v in valid)
    best_n = max(counts.values())
    label = next(v.label for v in valid if counts[v.label] == best_n)
    return dict(
        label=label,
        winner=LABEL_WINNERS[label or ""],
        agreement=best_n / len(valid),
        reasoning=_first_reasoning(valid, lambda v: v.label == label),
    )


def _batch(valid: Sequence[Vote], tie: bool, how: ScoreReduce) -> dict[str, Any]:
    n = len(valid[0].scores or [])
    scores = _per_response(valid, how)
    mean_rank = [
        statistics.fmean((v.ranking or []).index(letter(i)) + 1 for v in valid) for i in range(n)
    ]
    order = sorted(range(n), key=lambda i: (mean_rank[i], -scores[i], i))
    ranking = [letter(i) for i in order]
    agree = sum(v.ranking == ranking for v in valid)
    return dict(
        ranking=ranking,
        scores=scores,
        agreement=agree / len(valid),
        reasoning=_first_reasoning(valid, lambda v: v.ranking == ranking),
    )


def _first_reasoning(valid: Sequence[Vote], agrees: Callable[[Vote], bool]) -> str:
    return next((v.reasoning for v in valid if agrees(v)), valid[0].reasoning)


def _order_agreement(valid: Sequence[Vote], task: Task, tie: bool, how: ScoreReduce) -> bool | None:
    """Whether each presentation order, aggregated on its own, reaches the same verdict."""
    if task is Task.SCORE:
        return None
    groups: dict[tuple[int, ...], list[Vote]] = {}
    for v in valid:
        groups.setdefault(tuple(v.order), []).append(v)
    if len(groups) < 2:
        return None
    key = {Task.PAIRWISE: "winner", Task.LABEL: "label", Task.BATCH: "ranking"}[task]
    outcomes = [_DISPATCH[task](g, tie, how).get(key) for g in groups.values()]
    return all(o == outcomes[0] for o in outcomes)


_DISPATCH = {Task.SCORE: _score, Task.PAIRWISE: _pairwise, Task.LABEL: _label, Task.BATCH: _batch}
