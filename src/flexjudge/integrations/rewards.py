"""From a verdict to a reward: the one mapping that every adapter and ``/get_reward`` use.

* An ``"ok"`` single-score verdict gives its score mapped linearly onto 0..1 over the
  request's scale: ``(score - low) / (high - low)``, so 7 on 1-10 is 0.667 and 4 on 1-5 is 0.75.
  The score itself is the verdict's (the mean or median of its valid votes).
* Any other verdict (``"invalid"``: no vote parsed; ``"error"``: bad input or an engine failure)
  gives *no* reward: :attr:`Reward.value` is ``None``. Where a number is required (OpenRLHF,
  verl) the caller's ``invalid_reward`` stands in, always beside ``judge_valid = 0``, so a
  failure is never a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flexjudge.request import Scale
from flexjudge.verdict import Verdict


@dataclass(frozen=True)
class Reward:
    """What one verdict is worth."""

    value: float | None
    """The score on 0..1, or None when the verdict is not ``"ok"``."""
    raw: float | None
    """The score on the request's own scale, or None."""
    status: str
    agreement: float
    """Share of valid votes that agree with the verdict (0 when none parsed)."""
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.value is not None

    def or_(self, fallback: float) -> float:
        """The reward, or ``fallback`` when there is none."""
        return fallback if self.value is None else self.value


def reward_of(verdict: Verdict, scale: str | Scale = "1-10") -> Reward:
    """The reward of a single-score verdict judged on ``scale`` (module rules)."""
    s = Scale.parse(scale)
    if verdict.status != "ok" or not verdict.scores:
        return Reward(None, None, verdict.status, 0.0, verdict.error)
    raw = float(verdict.scores[0])
    unit = min(1.0, max(0.0, (raw - s.low) / (s.high - s.low)))
    return Reward(unit, raw, verdict.status, float(verdict.agreement or 0.0))


def score_request(
    instruction: str,
    response: str,
    *,
    request_id: str | int | None = None,
    scale: str | Scale = "1-10",
    reference: str | None = None,
    criteria: str | None = None,
    media: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The fields of a single-score judge request (the ``flexjudge run`` schema), leaving out
    what is unset. ``media`` holds ``images``/``videos``/``audios``/``molecules`` lists shared
    by the request (the question's picture...)."""
    fields: dict[str, Any] = {
        "task": "score",
        "instruction": instruction,
        "responses": [response],
        "scale": str(Scale.parse(scale)),
    }
    if request_id is not None:
        fields["id"] = request_id
    if reference is not None and reference.strip():
        fields["reference"] = reference
    if criteria is not None and criteria.strip():
        fields["criteria"] = criteria
    for name, items in (media or {}).items():
        if items:
            fields[name] = list(items)
    return fields
