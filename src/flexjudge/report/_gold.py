"""The human label of one item, in the form the report reads: who should win, which verdict
label, which score, which ranking. Benchmarks store their gold in their own vocabularies
("C" for a tie, "leftvote", 0/1/2); :func:`benchmark_gold` maps an item of any benchmark to
this one form, so every statistic compares like with like (response letters in request order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flexjudge.errors import InputError
from flexjudge.prompts.protocol import LABELS

__all__ = ["Gold", "benchmark_gold"]

_WINNERS = ("A", "B", "tie")
#: GenAI-Bench's human votes as the verdict labels a judge gives for them.
_VOTE_LABELS = {
    "leftvote": "[[A>B]]",
    "rightvote": "[[B>A]]",
    "tievote": "[[A=B=Good]]",
    "bothbad_vote": "[[A=B=Bad]]",
}


@dataclass(frozen=True)
class Gold:
    """What the humans said about one item; every field is optional (``None``: not known).

    ``winner``: ``"A"``, ``"B"`` or ``"tie"`` in request order. ``label``: one of the four
    verdict labels. ``score``: the human score (MOS, 1-5 rating). ``ranking``: response
    letters, best first. ``raw``: the benchmark's own value, shown as is.
    """

    winner: str | None = None
    label: str | None = None
    score: float | None = None
    ranking: tuple[str, ...] | None = None
    raw: Any = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.winner is not None:
            out["winner"] = self.winner
        if self.label is not None:
            out["label"] = self.label
        if self.score is not None:
            out["score"] = self.score
        if self.ranking is not None:
            out["ranking"] = list(self.ranking)
        if self.raw is not None:
            out["raw"] = self.raw
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Gold:
        """Read the ``gold`` object of an ``items.jsonl`` line; ``where`` names the line."""
        if not isinstance(obj, Mapping):
            raise InputError(f"{where}: gold must be an object, got {obj!r}")
        unknown = sorted(set(obj) - {"winner", "label", "score", "ranking", "raw"})
        if unknown:
            raise InputError(
                f"{where}: unknown gold field(s) {unknown}; use winner, label, score, ranking, raw"
            )
        winner, label, score, ranking = (
            obj.get(k) for k in ("winner", "label", "score", "ranking")
        )
        if winner is not None and winner not in _WINNERS:
            raise InputError(f"{where}: gold winner {winner!r} is not one of {list(_WINNERS)}")
        if label is not None and label not in LABELS:
            raise InputError(f"{where}: gold label {label!r} is not one of {list(LABELS)}")
        if score is not None and (
            isinstance(score, bool)
            or not isinstance(score, (int, float))
            or not math.isfinite(score)
        ):
            raise InputError(f"{where}: gold score must be a finite number, got {score!r}")
        if ranking is not None and (
            not isinstance(ranking, list) or not all(isinstance(r, str) for r in ranking)
        ):
            raise InputError(f"{where}: gold ranking must be a list of letters, got {ranking!r}")
        return cls(
            winner,
            label,
            float(score) if score is not None else None,
            tuple(ranking) if ranking is not None else None,
            obj.get("raw"),
        )

    def describe(self) -> str:
        """One short line for the items table."""
        if self.label is not None:
            return self.label
        if self.ranking is not None:
            return ">".join(self.ranking)
        if self.winner is not None:
            return self.winner
        if self.score is not None:
            return f"{self.score:g}"
        return "" if self.raw is None else str(self.raw)


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
