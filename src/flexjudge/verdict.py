"""What the judge answers: one :class:`Vote` per sampled output, one :class:`Verdict` per request."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["ok", "invalid", "error"]
Winner = Literal["A", "B", "tie"]


class Vote(BaseModel):
    """One sampled judgement, mapped back to the caller's response order."""

    order: list[int]
    """``order[i]`` is the index (in the request) of the response shown i-th."""
    text: str
    """The raw completion, kept whatever happened."""
    valid: bool
    reason: str | None = None
    """Why the output was invalid (parser reason code), or None."""
    error: str | None = None
    reasoning: str = ""
    scores: list[float] | None = None
    label: str | None = None
    winner: Winner | None = None
    ranking: list[str] | None = None
    finish_reason: str | None = None


class Verdict(BaseModel):
    """The judge's answer to one request.

    ``status`` is ``"ok"`` when at least one vote parsed and the votes decide; ``"invalid"``
    when no vote parsed (or votes could not decide and the format forbids a tie), with the
    reasons in ``error``; ``"error"`` when the request itself could not be judged (bad input,
    unreadable media, engine failure).
    """

    id: str | int | float | None = None
    """The request's id, as given (string or number)."""
    task: str
    status: Status
    winner: Winner | None = None
    label: str | None = None
    scores: list[float] | None = None
    ranking: list[str] | None = None
    reasoning: str | None = None
    agreement: float | None = None
    """Share of valid votes that agree with the verdict."""
    order_agreement: bool | None = None
    """With ``order="swap"``: whether both presentation orders reached the same verdict."""
    n_votes: int = 0
    n_valid: int = 0
    error: str | None = None
    votes: list[Vote] = Field(default_factory=list)

    @classmethod
    def failed(cls, request_id: str | int | float | None, task: str, message: str) -> Verdict:
        """The verdict of a request that could not be judged (bad input, unreadable media,
        an engine failure): ``status="error"`` and the cause in ``error``."""
        return cls(id=request_id, task=task, status="error", error=message)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self, *, votes: bool = True) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if not votes:
            data.pop("votes")
        return data
