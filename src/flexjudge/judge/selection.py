"""Choosing one of several candidates from the judge's verdicts: the ``score``, ``rank`` and
``pairwise`` methods of :meth:`Judge.best_of <flexjudge.Judge.best_of>` and of ``flexjudge
best-of-n`` (:mod:`flexjudge.loop`, which applies them to candidate files).

A method turns candidates (all of them, or the N drawn in an evaluation trial) into judge
requests, and the verdicts of those requests into a :class:`Selection`. Rules:

* ``score`` (the paper's way): one single-score request per candidate; the top score wins.
* ``rank``: one batch request over the candidates, shown in a seeded random order (so that the
  voting rule's last resort, the order shown, is a random tie-break, and no candidate owns
  the first slot); the first of the ranking wins. Two candidates are one pairwise request.
* ``pairwise``: a round robin of pairwise requests, each judged in both orders. Each order is
  a game: a win is 1 point, a tie 1/2 to each, a parse failure nothing. A pair is won by the
  candidate with more points over its games (equal points: a tie, 1/2 each), and the
  Copeland score of a candidate is its pairs won plus half its pairs tied.
* A single candidate is scored (there is nothing to compare).
* A candidate without a valid verdict (an invalid or failed score, a failed batch, no valid
  game) is never selected, and is counted. Ties at the top are broken by ``rng.choice`` over
  the tied candidates in their order (the official ``best_of_N.py`` uses ``random.choice``);
  when no candidate has a valid verdict, that is the answer, never a guess.

Request ids name the prompt (``key``) and the candidates they judge, so equal requests have
equal ids (and, through the judge's store, equal completions).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flexjudge.errors import ConfigError, InputError
from flexjudge.judge.voting import aggregate
from flexjudge.request import Candidate, JudgeRequest, Task
from flexjudge.verdict import Verdict

if TYPE_CHECKING:
    from flexjudge.judge.api import Judge

Method = Literal["score", "rank", "pairwise"]
METHODS: tuple[str, ...] = ("score", "rank", "pairwise")
Status = Literal["selected", "no_valid_candidate"]
#: make(request id, task, members in the order shown) -> the judge request, or an "error"
#: verdict for one that cannot be built (judging passes it through in its place).
RequestFactory = Callable[[str, Task, Sequence[int]], JudgeRequest | Verdict]


@dataclass
class Selection:
    """What a method chose among some candidates."""

    key: Any
    """The prompt's id (``prompt_id`` in candidate files)."""
    method: str
    status: Status
    members: list[int]
    """Indices of the candidates that took part, in order."""
    index: int | None = None
    """The chosen candidate's index, or None."""
    candidate_id: str | None = None
    value: float | None = None
    """The chosen candidate's score (score), points from the bottom of the ranking (rank) or
    Copeland score (pairwise)."""
    values: list[float | None] = field(default_factory=list)
    """Per member: its value, None where it has no valid verdict."""
    reasons: list[str | None] = field(default_factory=list)
    """Per member: why it has no valid verdict, else None."""
    tied: int = 0
    """How many valid members share the top value (1 when there is no tie)."""
    judgments: int = 0
    valid_judgments: int = 0

    @property
    def n_valid(self) -> int:
        return sum(v is not None for v in self.values)


def check_method(method: str) -> Method:
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    return method  # type: ignore[return-value]


def effective_method(method: Method, n_members: int) -> Method | Literal["single", "pair"]:
    """What a method does with ``n_members`` candidates (module rules)."""
    if n_members == 1:
        return "single"
    if method == "rank" and n_members == 2:
        return "pair"
    return method


def tie_rng(seed: int, key: Any) -> random.Random:
    """The tie-break generator of one prompt (the same whatever else is judged with it)."""
    return random.Random(f"{seed}:{key}")


def presented(ids: Sequence[str], members: Sequence[int], seed: int, key: Any) -> list[int]:
    """The rank method's seeded order of ``members`` (the same for the same candidates)."""
    order = list(members)
    random.Random(f"{seed}:{key}:{','.join(ids[m] for m in members)}").shuffle(order)
    return order


def requests_for(
    make: RequestFactory,
    ids: Sequence[str],
    members: Sequence[int],
    method: Method,
    *,
    seed: int = 0,
    key: Any = "",
) -> list[JudgeRequest | Verdict]:
    """The judge requests that ``method`` needs for ``members`` (indices into ``ids``)."""
    kind = effective_method(method, len(members))
    if kind in ("single", "score"):
        return [make(f"{key}|{ids[m]}", Task.SCORE, [m]) for m in members]
    if kind == "rank":
        order = presented(ids, members, seed, key)
        return [make(f"{key}|rank|" + ",".join(ids[m] for m in order), Task.BATCH, order)]
    pairs = [(a, b) for i, a in enumerate(members) for b in members[i + 1 :]]
    return [make(f"{key}|{ids[a]}|{ids[b]}", Task.PAIRWISE, [a, b]) for a, b in pairs]


def select(
    ids: Sequence[str],
    members: Sequence[int],
    method: Method,
    verdicts: Sequence[Verdict],
    rng: random.Random,
    *,
    seed: int = 0,
    key: Any = "",
) -> Selection:
    """The selection from ``verdicts`` (those of :func:`requests_for`, in its order)."""
    members = list(members)
    kind = effective_method(method, len(members))
    if kind in ("single", "score"):
        values, reasons = _by_score(verdicts)
    elif kind == "rank":
        values, reasons = _by_rank(members, presented(ids, members, seed, key), verdicts[0])
    else:
        values, reasons = _by_copeland(members, verdicts)
    sel = Selection(key, method, "no_valid_candidate", members, values=values, reasons=reasons)
    sel.judgments = len(verdicts)
    sel.valid_judgments = sum(v.ok for v in verdicts)
    valid = [(k, v) for k, v in enumerate(values) if v is not None]
    if not valid:
        return sel
    top = max(v for _, v in valid)
    tied = [k for k, v in valid if v == top]
    pick = tied[0] if len(tied) == 1 else rng.choice(tied)
    sel.status, sel.tied, sel.value = "selected", len(tied), top
    sel.index = members[pick]
    sel.candidate_id = ids[sel.index]
    return sel


def _why(verdict: Verdict) -> str:
    return f"{verdict.status}: {verdict.error}" if verdict.error else verdict.status


def _by_score(verdicts: Sequence[Verdict]) -> tuple[list[float | None], list[str | None]]:
    values: list[float | None] = []
    reasons: list[str | None] = []
    for v in verdicts:
        ok = v.ok and bool(v.scores)
        values.append(v.scores[0] if ok and v.scores else None)
        reasons.append(None if ok else _why(v))
    return values, reasons


def _by_rank(
    members: Sequence[int], shown: Sequence[int], verdict: Verdict
) -> tuple[list[float | None], list[str | None]]:
    if not verdict.ok or not verdict.ranking:
        return [None] * len(members), [_why(verdict)] * len(members)
    n = len(shown)
    # ranking letters name the responses in the order they were sent (``shown``)
    points = {
        shown[ord(letter) - ord("A")]: float(n - pos) for pos, letter in enumerate(verdict.ranking)
    }
    return [points[m] for m in members], [None] * len(members)


def order_outcomes(verdict: Verdict) -> dict[tuple[int, ...], str | None]:
    """Per presentation order of a pairwise verdict (keyed by the vote's ``order``, e.g.
    ``(1, 0)`` for B shown first): the winner of that order's votes in the caller's terms
    (``"A"``, ``"B"``, ``"tie"``), or None when none of its votes parsed. Each order is
    aggregated by the voting rule on its own."""
    orders: dict[tuple[int, ...], list[Any]] = {}
    for vote in verdict.votes:
        orders.setdefault(tuple(vote.order), []).append(vote)
    out: dict[tuple[int, ...], str | None] = {}
    for order, votes in orders.items():
        per = aggregate(votes, Task.PAIRWISE, tie=True)
        out[order] = per.winner if per.ok else None
    return out


def _by_copeland(
    members: Sequence[int], verdicts: Sequence[Verdict]
) -> tuple[list[float | None], list[str | None]]:
    pos = {m: k for k, m in enumerate(members)}
    copeland = [0.0] * len(members)
    played = [False] * len(members)
    pairs = [(a, b) for i, a in enumerate(members) for b in members[i + 1 :]]
    for (a, b), verdict in zip(pairs, verdicts):
        games = [g for g in order_outcomes(verdict).values() if g is not None]
        if not games:
            continue
        points = {"A": 0.0, "B": 0.0}
        for g in games:
            if g == "tie":
                points["A"] += 0.5
                points["B"] += 0.5
            else:
                points[g] += 1.0
        played[pos[a]] = played[pos[b]] = True
        if points["A"] == points["B"]:
            copeland[pos[a]] += 0.5
            copeland[pos[b]] += 0.5
        else:
            copeland[pos[a] if points["A"] > points["B"] else pos[b]] += 1.0
    values: list[float | None] = [c if p else None for c, p in zip(copeland, played)]
    reasons: list[str | None] = [None if p else "no valid pairwise judgment" for p in played]
    return values, reasons


def run_for(judge: Judge, method: str, count: int, max_batch: int | None = None) -> Judge:
    """The judge view one pass runs with: its requests in one chunk (or ``max_batch``), and
    for ``pairwise`` both orders."""
    size = count if max_batch is None else min(max_batch, count)
    changes: dict[str, Any] = {"batch_size": max(1, size)}
    if method == "pairwise":
        changes["order"] = "swap"
    return judge.with_config(**changes)


def best_of(
    judge: Judge,
    instruction: str,
    candidates: Sequence[str | Candidate | Mapping[str, Any]],
    *,
    method: str = "score",
    seed: int = 0,
    **fields: Any,
) -> Selection:
    """:meth:`Judge.best_of <flexjudge.Judge.best_of>`: one pass of the judge over what
    ``method`` needs, then the selection. ``fields`` are request fields shared by every
    request (media, ``criteria``, ``reference``, ``scale``); bad input raises
    :class:`~flexjudge.errors.InputError`."""
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, Sequence):
        raise InputError("candidates must be a list of responses")
    if not candidates:
        raise InputError("no candidates to choose from")
    chosen = check_method(method)
    ids = [str(k) for k in range(len(candidates))]

    def make(rid: str, task: Task, members: Sequence[int]) -> JudgeRequest:
        responses = [candidates[m] for m in members]
        return JudgeRequest.build(
            id=rid, task=task, instruction=instruction, responses=responses, **fields
        )

    members = list(range(len(candidates)))
    reqs = requests_for(make, ids, members, chosen, seed=seed, key="best_of")
    verdicts = list(run_for(judge, chosen, len(reqs)).run(reqs))
    return select(
        ids, members, chosen, verdicts, tie_rng(seed, "best_of"), seed=seed, key="best_of"
    )
