"""A benchmark item's human label as a :class:`~flexjudge.run.items.Gold`. Benchmarks store
their gold in their own vocabularies ("C" for a tie, "leftvote", 0/1/2); :func:`benchmark_gold`
maps an item of any benchmark to the one form, so every statistic compares like with like
(response letters in request order)."""

from __future__ import annotations

import math
from typing import Any

from flexjudge.prompts.protocol import LABELS
from flexjudge.run.items import Gold

__all__ = ["benchmark_gold"]

_WINNERS = ("A", "B", "tie")
#: GenAI-Bench's human votes as the verdict labels a judge gives for them.
_VOTE_LABELS = {
    "leftvote": "[[A>B]]",
    "rightvote": "[[B>A]]",
    "tievote": "[[A=B=Good]]",
    "bothbad_vote": "[[A=B=Bad]]",
}


def benchmark_gold(bench: Any, split: str, item: Any) -> Gold:
    """The :class:`Gold` of a harness item (:class:`flexjudge.bench.spec.Item`) of benchmark
    ``bench`` (a :class:`flexjudge.bench.spec.Benchmark`): the winner from the benchmark's own
    ``gold_winner``; the label, score or ranking read from ``item.gold`` by the item's task."""
    task = str((item.request or {}).get("task", ""))
    raw = item.gold
    winner = None
    if task in ("pairwise", "label") or bench.is_pairwise(split):
        try:
            winner = bench.gold_winner(item)
        except (KeyError, TypeError, ValueError):
            winner = None
    label = _VOTE_LABELS.get(raw) if task == "label" and isinstance(raw, str) else None
    if task == "label" and isinstance(raw, str) and raw in LABELS:
        label = raw
    score = None
    if task == "score" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        score = float(raw) if math.isfinite(raw) else None
    ranking = None
    if (task == "batch" and isinstance(raw, str) and raw.isalpha() and raw.isupper()) or (
        task == "batch" and isinstance(raw, (list, tuple)) and all(isinstance(r, str) for r in raw)
    ):
        ranking = tuple(raw)
    if raw is not None and not isinstance(raw, (str, int, float, bool, list, dict)):
        raw = str(raw)
    return Gold(winner if winner in _WINNERS else None, label, score, ranking, raw)
