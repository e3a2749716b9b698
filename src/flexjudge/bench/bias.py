"""Position-bias statistics of a pairwise run, next to the human baseline.

Counted over the *votes* (each is one judgment in one presentation order):

* ``first_position_win_rate`` - of the valid votes that pick a winner (no tie), the share won
  by the response shown first; ``human_first_position_rate`` - over the same votes, the share
  where the human-preferred response was the one shown first. A fair judge's two numbers
  match; the difference is ``first_position_excess``.
* ``judge_tie_rate`` - ties among valid votes; ``human_tie_rate`` - ties among the items' labels.
* ``order_agreement_rate`` - with order swap: the share of items whose two orders reached the
  same verdict (``Verdict.order_agreement``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flexjudge.judge.voting import LABEL_WINNERS
from flexjudge.request import letter


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


class PositionBias:
    def __init__(self) -> None:
        self.decisive = self.first_wins = self.human_first = 0
        self.valid = self.judge_ties = 0
        self.items = self.gold_ties = 0
        self.swapped = self.agreed = 0

    def add(self, gold: str | None, votes: Sequence[Any], order_agreement: bool | None) -> None:
        self.items += 1
        self.gold_ties += gold == "tie"
        if order_agreement is not None:
            self.swapped += 1
            self.agreed += bool(order_agreement)
        for vote in votes:
            if not _get(vote, "valid"):
                continue
            winner = _get(vote, "winner") or LABEL_WINNERS.get(_get(vote, "label") or "")
            if winner is None:
                continue
            self.valid += 1
            if winner == "tie":
                self.judge_ties += 1
                continue
            order = _get(vote, "order") or [0, 1]
            first = letter(order[0])
            if gold in ("A", "B"):
                self.decisive += 1
                self.first_wins += winner == first
                self.human_first += gold == first

    def as_dict(self) -> dict[str, Any]:
        def rate(a: int, b: int) -> float | None:
            return a / b if b else None

        judge_first = rate(self.first_wins, self.decisive)
        human_first = rate(self.human_first, self.decisive)
        return {
            "first_position_win_rate": judge_first,
            "human_first_position_rate": human_first,
            "first_position_excess": (judge_first - human_first)
            if judge_first is not None and human_first is not None
            else None,
            "decisive_votes": self.decisive,
            "judge_tie_rate": rate(self.judge_ties, self.valid),
            "human_tie_rate": rate(self.gold_ties, self.items),
            "valid_votes": self.valid,
            "order_agreement_rate": rate(self.agreed, self.swapped),
            "items_with_both_orders": self.swapped,
        }
