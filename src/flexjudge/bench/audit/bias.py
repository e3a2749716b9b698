"""Where a judge leans: position, order swap, ties and length, over verdict JSON objects.

Every function is pure: verdict objects as ``verdicts.jsonl`` holds them (``Verdict.to_json``),
with the items' :class:`~flexjudge.report.Gold` (or ``None``) aligned beside them. Rates are
``None`` when their denominator is empty, never 0. Pairwise formats are ``pairwise`` and
``label`` (a label's winner: ``[[A>B]]`` -> A, both ``=`` labels -> tie).

* :func:`position_bias` - over valid votes: how often the response shown first wins, and A's
  win share when A is shown first vs second; with human labels, the same rate beside the
  share where the human-preferred response was shown first (``flexjudge.bench.bias``).
* :func:`order_swap` - items judged in both orders: agreement, and the kind of each flip.
* :func:`tie_rates` - the judge's tie rate (verdicts and votes) beside the humans'.
* :func:`length_bias` - the winner against the length difference of the two responses.
* :func:`score_length` - the correlation of a response's score with its length.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from flexjudge.bench.bias import PositionBias
from flexjudge.judge.voting import LABEL_WINNERS, aggregate
from flexjudge.request import Task, letter
from flexjudge.run.items import Gold
from flexjudge.verdict import Vote

__all__ = [
    "DEFAULT_LENGTH_EDGES",
    "length_bias",
    "order_swap",
    "per_order_outcomes",
    "position_bias",
    "rate",
    "score_length",
    "tie_rates",
    "vote_winner",
]

PAIR_TASKS = ("pairwise", "label")
#: Length-difference bin edges (words, A minus B). Half-integers, so the integer bins are
#: symmetric: <= -100, -99..-30, -29..-10, -9..-3, -2..2, 3..9, 10..29, 30..99, >= 100.
DEFAULT_LENGTH_EDGES: tuple[float, ...] = (-99.5, -29.5, -9.5, -2.5, 2.5, 9.5, 29.5, 99.5)

Verdicts = Sequence[Mapping[str, Any]]
Golds = Sequence["Gold | None"] | None


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def vote_winner(obj: Mapping[str, Any]) -> str | None:
    """A vote's (or verdict's) winner, read from its label when it has one."""
    winner = obj.get("winner")
    if winner is None and obj.get("label"):
        winner = LABEL_WINNERS.get(str(obj["label"]))
    return winner


def _gold(golds: Golds, i: int) -> Gold | None:
    return golds[i] if golds is not None else None


def position_bias(verdicts: Verdicts, golds: Golds = None) -> dict[str, Any]:
    """Position statistics over the valid votes of pairwise items.

    ``first_shown_win_rate``: of the decisive votes (not a tie), the share won by the response
    shown first. ``by_shown_position``: vote counts (A, B, tie) when A was shown first and when
    it was shown second, with A's share of the decisive ones. ``human`` (when items have a
    human winner): :class:`flexjudge.bench.bias.PositionBias` over those items - the judge's
    first-shown win rate on votes whose human label is decisive, beside the share of those
    votes where the human-preferred response was shown first (a fair judge's two match).
    """
    table = {"A_first": Counter[str](), "A_second": Counter[str]()}
    decisive = first_wins = 0
    human = PositionBias()
    for i, v in enumerate(verdicts):
        if v.get("task") not in PAIR_TASKS:
            continue
        votes = v.get("votes") or []
        gold = _gold(golds, i)
        if gold is not None and gold.winner is not None:
            human.add(gold.winner, votes, v.get("order_agreement"))
        for vote in votes:
            winner = vote_winner(vote) if vote.get("valid") else None
            if winner is None:
                continue
            order = vote.get("order") or [0, 1]
            table["A_first" if order[0] == 0 else "A_second"][winner] += 1
            if winner != "tie":
                decisive += 1
                first_wins += winner == letter(order[0])
    out: dict[str, Any] = {
        "valid_votes": sum(sum(c.values()) for c in table.values()),
        "decisive_votes": decisive,
        "first_shown_win_rate": rate(first_wins, decisive),
        "by_shown_position": {
            key: {
                "A": c["A"],
                "B": c["B"],
                "tie": c["tie"],
                "A_win_rate": rate(c["A"], c["A"] + c["B"]),
            }
            for key, c in table.items()
        },
    }
    if human.items:
        ref = human.as_dict()
        out["human"] = {
            k: ref[k]
            for k in (
                "first_position_win_rate",
                "human_first_position_rate",
                "first_position_excess",
                "decisive_votes",
            )
        }
    return out


def per_order_outcomes(verdict: Mapping[str, Any]) -> list[tuple[tuple[int, ...], Any]]:
    """Each presentation order's own outcome (winner, label or ranking in request letters),
    by :func:`flexjudge.judge.voting.aggregate` over that order's valid votes, in the order
    the orders first appear. An order whose votes split evenly with equal mean scores counts
    as a tie (the verdict does not record whether ties were allowed)."""
    task = Task.parse(str(verdict.get("task")))
    groups: dict[tuple[int, ...], list[Vote]] = {}
    for vote in verdict.get("votes") or []:
        if vote.get("valid"):
            groups.setdefault(tuple(vote.get("order") or ()), []).append(
                Vote.model_validate({"text": "", **vote})  # texts are not needed to vote
            )
    key = {Task.PAIRWISE: "winner", Task.LABEL: "label", Task.BATCH: "ranking"}.get(task)
    if key is None:
        return []
    out = []
    for order, votes in groups.items():
        v = aggregate(votes, task, tie=True)
        out.append((order, getattr(v, key) if v.ok else None))
    return out


def _flip_kind(task: str, outcomes: Sequence[tuple[tuple[int, ...], Any]]) -> str:
    values = [o for _, o in outcomes]
    if all(o == values[0] for o in values):
        return "consistent"
    if task == "batch" or len(outcomes) != 2:
        return "changed"
    by_first = {order[0]: o for order, o in outcomes}
    a_first, b_first = by_first.get(0), by_first.get(1)
    if task == "label":
        a_first, b_first = LABEL_WINNERS.get(a_first or ""), LABEL_WINNERS.get(b_first or "")
    if a_first == "A" and b_first == "B":
        return "first_shown_won_both"
    if a_first == "B" and b_first == "A":
        return "second_shown_won_both"
    if "tie" in (a_first, b_first) and a_first != b_first:
        return "tie_in_one_order"
    return "label_changed" if a_first == b_first else "changed"


def order_swap(verdicts: Verdicts) -> dict[str, Any]:
    """Order-swap agreement over ok verdicts judged in two or more orders.

    ``order_agreement_rate`` reads the verdicts' own ``order_agreement``. ``flips`` classifies
    each item from :func:`per_order_outcomes`: ``consistent``; ``first_shown_won_both`` /
    ``second_shown_won_both`` (the verdict followed the position, not the response: pure
    position bias); ``tie_in_one_order``; ``label_changed`` (the same winner, another label,
    e.g. both good vs both bad); ``changed`` (anything else, and batch rankings).
    """
    kinds: Counter[str] = Counter()
    n = agreed = 0
    for v in verdicts:
        if v.get("task") not in ("pairwise", "label", "batch") or v.get("status") != "ok":
            continue
        outcomes = per_order_outcomes(v)
        if len(outcomes) < 2:
            continue
        n += 1
        agreed += bool(v.get("order_agreement"))
        kinds[_flip_kind(str(v["task"]), outcomes)] += 1
    return {
        "items_with_both_orders": n,
        "order_agreement_rate": rate(agreed, n),
        "flips": n - kinds["consistent"],
        "kinds": dict(sorted(kinds.items())),
    }


def tie_rates(verdicts: Verdicts, golds: Golds = None) -> dict[str, Any]:
    """Ties of the judge beside ties of the humans, over pairwise items.

    ``judge_verdict_tie_rate``: ties among ok verdicts; ``judge_vote_tie_rate``: among valid
    votes; ``human_tie_rate``: among items with a human winner. ``labels``: with the label
    format, how often each of the four labels was given, by the judge and by the humans.
    """
    verdict_ties = n_verdicts = vote_ties = n_votes = human_ties = n_human = 0
    judge_labels: Counter[str] = Counter()
    human_labels: Counter[str] = Counter()
    for i, v in enumerate(verdicts):
        if v.get("task") not in PAIR_TASKS:
            continue
        gold = _gold(golds, i)
        if gold is not None and gold.winner is not None:
            n_human += 1
            human_ties += gold.winner == "tie"
        if gold is not None and gold.label is not None:
            human_labels[gold.label] += 1
        for vote in v.get("votes") or []:
            w = vote_winner(vote) if vote.get("valid") else None
            if w is not None:
                n_votes += 1
                vote_ties += w == "tie"
        if v.get("status") != "ok":
            continue
        n_verdicts += 1
        verdict_ties += vote_winner(v) == "tie"
        if v.get("label"):
            judge_labels[str(v["label"])] += 1
    out: dict[str, Any] = {
        "judge_verdict_tie_rate": rate(verdict_ties, n_verdicts),
        "judge_vote_tie_rate": rate(vote_ties, n_votes),
        "human_tie_rate": rate(human_ties, n_human),
        "verdicts": n_verdicts,
        "valid_votes": n_votes,
        "human_items": n_human,
    }
    if judge_labels or human_labels:
        out["labels"] = {"judge": dict(judge_labels), "human": dict(human_labels)}
    return out


def _bin_labels(edges: Sequence[float]) -> list[str]:
    cuts = [math.ceil(e) for e in edges]  # integer differences: [lo, hi) -> lo..hi-1
    labels = [f"<= {cuts[0] - 1}"]
    labels += [f"{lo}..{hi - 1}" for lo, hi in itertools.pairwise(cuts)]
    return [*labels, f">= {cuts[-1]}"]


def _bin_of(value: float, edges: Sequence[float]) -> int:
    return sum(value >= e for e in edges)


def length_bias(
    verdicts: Verdicts,
    lengths: Sequence[Sequence[int] | None],
    golds: Golds = None,
    *,
    edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
) -> dict[str, Any]:
    """The pairwise winner against ``len(A) - len(B)`` (``lengths``: per item the responses'
    lengths, e.g. words; ``None`` when a response has no text).

    Per difference bin (``edges`` sorted; a bin is ``[lo, hi)``): ok verdicts won by A, B or
    tied, A's share of the decisive ones, and the humans' A share where there is gold.
    ``longer_win_rate``: of the decisive ok verdicts whose responses differ in length, the
    share won by the longer one; ``human_longer_win_rate``: the same over human winners.
    """
    edges = sorted(edges)
    bins = [Counter[str]() for _ in range(len(edges) + 1)]
    human_bins = [Counter[str]() for _ in range(len(edges) + 1)]
    longer = decisive = h_longer = h_decisive = 0
    for i, v in enumerate(verdicts):
        ln = lengths[i]
        if v.get("task") not in PAIR_TASKS or ln is None or len(ln) != 2:
            continue
        diff = ln[0] - ln[1]
        k = _bin_of(diff, edges)
        gold = _gold(golds, i)
        if gold is not None and gold.winner is not None:
            human_bins[k][gold.winner] += 1
            if gold.winner != "tie" and diff != 0:
                h_decisive += 1
                h_longer += (gold.winner == "A") == (diff > 0)
        winner = vote_winner(v) if v.get("status") == "ok" else None
        if winner is None:
            continue
        bins[k][winner] += 1
        if winner != "tie" and diff != 0:
            decisive += 1
            longer += (winner == "A") == (diff > 0)
    rows = []
    for label, c, h in zip(_bin_labels(edges), bins, human_bins):
        rows.append(
            {
                "bin": label,
                "n": sum(c.values()),
                "A": c["A"],
                "B": c["B"],
                "tie": c["tie"],
                "A_win_rate": rate(c["A"], c["A"] + c["B"]),
                "human_n": sum(h.values()),
                "human_A_win_rate": rate(h["A"], h["A"] + h["B"]),
            }
        )
    return {
        "unit": "words (A minus B)",
        "bins": rows,
        "longer_win_rate": rate(longer, decisive),
        "decisive": decisive,
        "human_longer_win_rate": rate(h_longer, h_decisive),
        "human_decisive": h_decisive,
    }


def score_length(verdicts: Verdicts, lengths: Sequence[Sequence[int] | None]) -> dict[str, Any]:
    """Pearson and Spearman correlation of each response's verdict score with its length,
    over ok verdicts with scores (every format: one pair per scored response), by
    :func:`flexjudge.bench.metrics.pearson` / ``spearman`` (``None`` when undefined).

    Without scipy (the ``bench`` extra; a plain ``flexjudge run`` needs none) both are ``None``
    and ``unavailable`` says why: the rest of the audit still stands."""
    from flexjudge.bench.metrics import pearson, spearman

    scores: list[float | None] = []
    sizes: list[float] = []
    for i, v in enumerate(verdicts):
        ln, sc = lengths[i], v.get("scores")
        if v.get("status") != "ok" or ln is None or not sc or len(sc) != len(ln):
            continue
        scores += [float(s) for s in sc]
        sizes += [float(n) for n in ln]
    try:
        import scipy.stats  # noqa: F401  (only to know whether the correlations can be had)
    except ImportError:
        missing = "scipy is not installed (pip install 'flexjudge[bench]')"
        return {"pairs": len(scores), "pearson": None, "spearman": None, "unavailable": missing}
    return {
        "pairs": len(scores),
        "pearson": pearson(scores, sizes).value,
        "spearman": spearman(scores, sizes).value,
    }
