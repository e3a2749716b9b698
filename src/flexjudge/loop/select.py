"""The selection methods (:mod:`flexjudge.judge.selection`: ``score``, ``rank``, ``pairwise``,
their tie-break and invalid-verdict rules) applied to one prompt's group of a candidate file:
requests built with the prompt's question, media and judge fields, ids that name the prompt
and the candidates."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from flexjudge.judge import selection
from flexjudge.judge.selection import METHODS, Method, Selection, check_method, order_outcomes
from flexjudge.loop.candidates import CandidateGroup
from flexjudge.request import JudgeRequest, Task
from flexjudge.verdict import Verdict

__all__ = [
    "METHODS",
    "Method",
    "Selection",
    "check_method",
    "order_outcomes",
    "requests_for",
    "select",
    "selection_json",
]


def _ids(group: CandidateGroup) -> list[str]:
    return [c.id for c in group.candidates]


def requests_for(
    group: CandidateGroup,
    members: Sequence[int],
    method: Method,
    *,
    seed: int = 0,
    defaults: Mapping[str, Any] | None = None,
) -> list[JudgeRequest | Verdict]:
    """The judge requests ``method`` needs for ``members`` (indices into the group's
    candidates); request fields the prompt does not set come from ``defaults``."""

    def make(rid: str, task: Task, shown: Sequence[int]) -> JudgeRequest | Verdict:
        return group.request(rid, task, shown, defaults)

    return selection.requests_for(
        make, _ids(group), members, method, seed=seed, key=group.prompt_id
    )


def select(
    group: CandidateGroup,
    members: Sequence[int],
    method: Method,
    verdicts: Sequence[Verdict],
    rng: random.Random,
    *,
    seed: int = 0,
) -> Selection:
    """The selection among ``members`` from the verdicts of :func:`requests_for`."""
    return selection.select(
        _ids(group), members, method, verdicts, rng, seed=seed, key=group.prompt_id
    )


def selection_json(sel: Selection, group: CandidateGroup) -> dict[str, Any]:
    """A selection as one line of ``best-of-n`` output (without the chosen candidate)."""
    return {
        "prompt_id": group.prompt_id,
        "method": sel.method,
        "status": sel.status,
        "candidate_id": sel.candidate_id,
        "value": sel.value,
        "tied": sel.tied,
        "n_candidates": len(sel.members),
        "n_valid": sel.n_valid,
        "judgments": sel.judgments,
        "valid_judgments": sel.valid_judgments,
        "candidates": [
            {
                "candidate_id": group.candidates[m].id,
                "value": v,
                **({"reason": r} if r else {}),
            }
            for m, v, r in zip(sel.members, sel.values, sel.reasons)
        ],
    }
