"""Which judged pairs become preference pairs: the policies of ``flexjudge pairs``.

Every pair ``(a, b)`` is judged pairwise in both orders (forward: ``a`` shown first; reverse:
``b`` first). A policy reads the verdict and either keeps the pair, naming the chosen
candidate, or drops it with one reason:

* ``both-orders`` (the paper's position-bias filter): the same candidate wins each order.
* ``expected-winner`` (the paper's exact rule): as ``both-orders``, and the winner must be the
  candidate that matches ``chosen_if`` (the paper: the T = 0.8 response over the T = 1.2 one;
  ``chosen_if=("temperature", 0.8)``).
* ``majority``: the plurality winner over all valid votes of both orders holds a strict
  majority and at least ``min_agreement`` of them.
* ``margin``: the mean scores (over both orders' valid votes) differ by at least
  ``min_margin``; the higher one is chosen.

Drop reasons are never lumped (the official code writes -1 for a tie and a parse failure
alike): ``error`` (the request failed: bad input, an engine failure), ``invalid`` (an order,
or the whole verdict, has no parsable vote), ``tie`` (an order tied, or the verdict is a tie),
``order_disagreement``, ``unexpected_winner``, ``low_agreement``, ``small_margin``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flexjudge.errors import ConfigError
from flexjudge.loop.candidates import LoopCandidate
from flexjudge.loop.select import order_outcomes
from flexjudge.verdict import Verdict

PolicyName = Literal["both-orders", "expected-winner", "majority", "margin"]
POLICIES: tuple[str, ...] = ("both-orders", "expected-winner", "majority", "margin")
DROP_REASONS: tuple[str, ...] = (
    "error",
    "invalid",
    "tie",
    "order_disagreement",
    "unexpected_winner",
    "low_agreement",
    "small_margin",
)
FORWARD, REVERSE = (0, 1), (1, 0)


@dataclass(frozen=True)
class PairJudgment:
    """One judged pair: the candidates in request order (``a`` is response A) and the
    verdict over both orders."""

    a: LoopCandidate
    b: LoopCandidate
    verdict: Verdict

    @property
    def forward(self) -> str | None:
        """Winner with ``a`` shown first: ``"A"``, ``"B"``, ``"tie"``, or None (no parse)."""
        return order_outcomes(self.verdict).get(FORWARD)

    @property
    def reverse(self) -> str | None:
        """Winner with ``b`` shown first, in request terms (``"A"`` is still ``a``)."""
        return order_outcomes(self.verdict).get(REVERSE)


@dataclass(frozen=True)
class Decision:
    keep: bool
    chosen: Literal["A", "B"] | None = None
    reason: str | None = None

    @classmethod
    def drop(cls, reason: str) -> Decision:
        return cls(False, None, reason)


@dataclass(frozen=True)
class PairPolicy:
    """A policy and its parameters (module rules)."""

    name: PolicyName = "both-orders"
    chosen_if: tuple[str, Any] | None = None
    min_agreement: float = 0.5
    min_margin: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            raise ConfigError(f"unknown policy {self.name!r}: use one of {', '.join(POLICIES)}")
        if self.name == "expected-winner" and self.chosen_if is None:
            object.__setattr__(self, "chosen_if", ("temperature", 0.8))
        if self.chosen_if is not None and self.name != "expected-winner":
            raise ConfigError("chosen_if (--chosen-if) goes with the expected-winner policy")
        if not 0 <= self.min_agreement <= 1:
            raise ConfigError(f"min_agreement must be in [0, 1], got {self.min_agreement}")
        if self.min_margin < 0:
            raise ConfigError(f"min_margin must be >= 0, got {self.min_margin}")

    def expected(self, candidate: LoopCandidate) -> bool:
        """Whether ``candidate`` matches ``chosen_if``."""
        if self.chosen_if is None:
            return False
        key, want = self.chosen_if
        have = candidate.get(key)
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            return (
                isinstance(have, (int, float))
                and not isinstance(have, bool)
                and math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-12)
            )
        return bool(have == want)

    def decide(self, pair: PairJudgment) -> Decision:
        return _RULES[self.name](self, pair)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.name}
        if self.name == "expected-winner":
            out["chosen_if"] = {str(self.chosen_if[0]): self.chosen_if[1]}  # type: ignore[index]
        if self.name == "majority":
            out["min_agreement"] = self.min_agreement
        if self.name == "margin":
            out["min_margin"] = self.min_margin
        return out


def parse_chosen_if(text: str) -> tuple[str, Any]:
    """``"temperature=0.8"`` -> ``("temperature", 0.8)``: the value is read as JSON when it
    is JSON (a number, true, "text"), else kept as the string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--chosen-if {text!r}: write it as FIELD=VALUE, e.g. temperature=0.8")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip(), parsed


def _both_orders(policy: PairPolicy, pair: PairJudgment) -> Decision:
    if pair.verdict.status == "error":
        return Decision.drop("error")
    fwd, rev = pair.forward, pair.reverse
    if fwd is None or rev is None:
        return Decision.drop("invalid")
    if "tie" in (fwd, rev):
        return Decision.drop("tie")
    if fwd != rev:
        return Decision.drop("order_disagreement")
    return Decision(True, fwd, None)  # type: ignore[arg-type]


def _expected_winner(policy: PairPolicy, pair: PairJudgment) -> Decision:
    base = _both_orders(policy, pair)
    if not base.keep:
        return base
    expected = "A" if policy.expected(pair.a) else "B"
    return base if base.chosen == expected else Decision.drop("unexpected_winner")


def _majority(policy: PairPolicy, pair: PairJudgment) -> Decision:
    v = pair.verdict
    if v.status == "error":
        return Decision.drop("error")
    if not v.ok:
        return Decision.drop("invalid")
    if v.winner == "tie":
        return Decision.drop("tie")
    share = v.agreement or 0.0
    if share <= 0.5 or share < policy.min_agreement:
        return Decision.drop("low_agreement")
    return Decision(True, v.winner, None)


def _margin(policy: PairPolicy, pair: PairJudgment) -> Decision:
    v = pair.verdict
    if v.status == "error":
        return Decision.drop("error")
    if not v.ok or not v.scores:
        return Decision.drop("invalid")
    gap = v.scores[0] - v.scores[1]
    if gap == 0:
        return Decision.drop("tie")
    if abs(gap) < policy.min_margin:
        return Decision.drop("small_margin")
    return Decision(True, "A" if gap > 0 else "B", None)


_RULES: dict[str, Callable[[PairPolicy, PairJudgment], Decision]] = {
    "both-orders": _both_orders,
    "expected-winner": _expected_winner,
    "majority": _majority,
    "margin": _margin,
}
