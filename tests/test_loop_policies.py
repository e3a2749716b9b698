"""Every pair policy of `flexjudge pairs` against hand-made verdicts: each order's votes are
written by hand and aggregated by the real voting rule, then the policy keeps or drops the
pair with one named reason (a tie and a parse failure are never the same reason)."""

from __future__ import annotations

import pytest

from flexjudge import ConfigError
from flexjudge.judge.voting import aggregate
from flexjudge.loop import PairJudgment, PairPolicy, group_candidates, parse_chosen_if
from flexjudge.request import Task
from flexjudge.verdict import Verdict, Vote

FWD, REV = [0, 1], [1, 0]


def vote(order: list[int], a: float | None, b: float | None = None) -> Vote:
    """A vote with scores in the caller's order (A, B); ``a=None`` is a parse failure."""
    if a is None:
        return Vote(order=order, text="garbage", valid=False, reason="no_think_close")
    winner = "A" if a > b else "B" if b > a else "tie"  # type: ignore[operator]
    return Vote(order=order, text="", valid=True, scores=[a, b], winner=winner)  # type: ignore[list-item]


def pair(*votes: Vote, temps: tuple[float, float] = (0.8, 1.2)) -> PairJudgment:
    rows = [
        (None, {"prompt_id": "p", "prompt": "Q?", "response": t, "temperature": temp})
        for t, temp in zip(("first", "second"), temps)
    ]
    g = group_candidates(rows)[0]
    return PairJudgment(g.candidates[0], g.candidates[1], aggregate(list(votes), Task.PAIRWISE))


def decide(policy: PairPolicy, p: PairJudgment) -> tuple[bool, str | None, str | None]:
    d = policy.decide(p)
    return d.keep, d.chosen, d.reason


BOTH = PairPolicy("both-orders")


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ((vote(FWD, 8, 2), vote(REV, 7, 3)), (True, "A", None)),
        ((vote(FWD, 2, 8), vote(REV, 3, 9)), (True, "B", None)),
        ((vote(FWD, 8, 2), vote(REV, 2, 8)), (False, None, "order_disagreement")),
        ((vote(FWD, 8, 2), vote(REV, 5, 5)), (False, None, "tie")),
        ((vote(FWD, 8, 2), vote(REV, None)), (False, None, "invalid")),
        ((vote(FWD, None), vote(REV, None)), (False, None, "invalid")),
        # a tie in one order and a parse failure in the other: the parse failure is named
        ((vote(FWD, 5, 5), vote(REV, None)), (False, None, "invalid")),
    ],
)
def test_both_orders(votes, expected):
    assert decide(BOTH, pair(*votes)) == expected


def test_both_orders_uses_each_orders_majority():
    # forward: 2 of 3 votes for A; reverse: 2 of 2 for A -> A wins both orders
    p = pair(vote(FWD, 8, 2), vote(FWD, 7, 1), vote(FWD, 1, 9), vote(REV, 6, 2), vote(REV, 9, 3))
    assert (p.forward, p.reverse) == ("A", "A")
    assert decide(BOTH, p) == (True, "A", None)


def test_an_error_verdict_is_its_own_reason():
    p = pair(vote(FWD, 8, 2))
    failed = PairJudgment(p.a, p.b, Verdict.failed("x", "pairwise", "engine failed: boom"))
    for name in ("both-orders", "expected-winner", "majority", "margin"):
        assert decide(PairPolicy(name), failed) == (False, None, "error")  # type: ignore[arg-type]


def test_expected_winner_is_the_papers_rule():
    rule = PairPolicy("expected-winner")  # default: the T = 0.8 candidate must win both orders
    assert rule.chosen_if == ("temperature", 0.8)
    assert decide(rule, pair(vote(FWD, 8, 2), vote(REV, 7, 3))) == (True, "A", None)
    assert decide(rule, pair(vote(FWD, 2, 8), vote(REV, 3, 9))) == (
        False,
        None,
        "unexpected_winner",
    )
    # the T = 0.8 candidate shown second (B) and winning both orders is kept, chosen B
    swapped = pair(vote(FWD, 2, 8), vote(REV, 3, 9), temps=(1.2, 0.8))
    assert decide(rule, swapped) == (True, "B", None)
    assert decide(rule, pair(vote(FWD, 8, 2), vote(REV, 2, 8)))[2] == "order_disagreement"
    assert decide(rule, pair(vote(FWD, 5, 5), vote(REV, 5, 5)))[2] == "tie"


def test_expected_winner_generalised():
    rule = PairPolicy("expected-winner", chosen_if=parse_chosen_if("temperature=1.2"))
    assert decide(rule, pair(vote(FWD, 2, 8), vote(REV, 3, 9))) == (True, "B", None)
    assert parse_chosen_if("model=big") == ("model", "big")
    assert parse_chosen_if("ok=true") == ("ok", True)
    with pytest.raises(ConfigError):
        parse_chosen_if("temperature")
    with pytest.raises(ConfigError, match="expected-winner"):
        PairPolicy("both-orders", chosen_if=("temperature", 0.8))


def test_majority():
    rule = PairPolicy("majority", min_agreement=0.6)
    # 3 of 4 valid votes for A (0.75 >= 0.6)
    four = (vote(FWD, 8, 2), vote(FWD, 7, 2), vote(REV, 6, 3), vote(REV, 1, 8))
    assert decide(rule, pair(*four)) == (True, "A", None)
    # 2 of 3 valid votes (0.667) with one parse failure: kept at 0.6, dropped at 0.7
    three = (vote(FWD, 8, 2), vote(FWD, None), vote(REV, 6, 3), vote(REV, 1, 8))
    assert decide(rule, pair(*three)) == (True, "A", None)
    assert decide(PairPolicy("majority", min_agreement=0.7), pair(*three))[2] == "low_agreement"
    # one vote each way: no strict majority (the voting rule's tie-break picks B on scores,
    # with agreement 0.5), whatever min_agreement says
    split = (vote(FWD, 6, 5), vote(REV, 1, 9))
    assert decide(PairPolicy("majority", min_agreement=0.0), pair(*split))[2] == "low_agreement"
    assert decide(rule, pair(vote(FWD, 5, 5), vote(REV, 4, 4)))[2] == "tie"
    assert decide(rule, pair(vote(FWD, None), vote(REV, None)))[2] == "invalid"


def test_margin():
    rule = PairPolicy("margin", min_margin=2.0)
    # mean scores over both orders: A (8+6)/2 = 7, B (2+5)/2 = 3.5 -> gap 3.5
    assert decide(rule, pair(vote(FWD, 8, 2), vote(REV, 6, 5))) == (True, "A", None)
    # A 6, B 5: gap 1 < 2
    assert decide(rule, pair(vote(FWD, 6, 5), vote(REV, 6, 5))) == (
        False,
        None,
        "small_margin",
    )
    # B ahead by 4, with the orders disagreeing: margin does not care about orders
    assert decide(rule, pair(vote(FWD, 4, 9), vote(REV, 6, 9))) == (True, "B", None)
    assert decide(rule, pair(vote(FWD, 5, 5), vote(REV, 5, 5)))[2] == "tie"
    assert decide(rule, pair(vote(FWD, None)))[2] == "invalid"


def test_policy_settings_are_checked():
    with pytest.raises(ConfigError, match="unknown policy"):
        PairPolicy("best")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        PairPolicy("majority", min_agreement=1.5)
    with pytest.raises(ConfigError):
        PairPolicy("margin", min_margin=-1)
