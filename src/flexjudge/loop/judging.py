"""How the loop judges: one pass per prompt, through :meth:`Judge.run <flexjudge.Judge.run>`.

All the judgments one prompt's candidates need (every score, every pair in both orders, the
batch) go to the judge as one chunk (:func:`flexjudge.judge.selection.run_for`), so the
engine sees them in one ``generate`` call per answer format; ``max_batch`` caps the chunk
where memory demands it. The judge's store makes every pass resumable: a verdict asked for
again is recomputed from stored completions, never generated twice. :class:`VerdictMemo`
keeps the verdicts of one process, so an evaluation that draws the same candidates in many
trials judges each request once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flexjudge.errors import ConfigError
from flexjudge.judge.selection import run_for
from flexjudge.request import JudgeRequest
from flexjudge.verdict import Verdict

if TYPE_CHECKING:
    from flexjudge.judge import Judge


def check_max_batch(max_batch: int | None) -> None:
    if max_batch is not None and (isinstance(max_batch, bool) or max_batch < 1):
        raise ConfigError(f"max_batch must be a positive integer, got {max_batch!r}")


class VerdictMemo:
    """Verdicts by request id, for one judge and one method (``pairwise``, and the pairs of
    ``flexjudge pairs``, judge both orders)."""

    def __init__(self, judge: Judge, method: str = "score", *, max_batch: int | None = None):
        check_max_batch(max_batch)
        self.judge = judge
        self.method = method
        self.max_batch = max_batch
        self.verdicts: dict[str, Verdict] = {}
        self.passes = 0

    def __call__(self, requests: Sequence[JudgeRequest | Verdict]) -> list[Verdict]:
        """Verdicts of ``requests`` (ids name their content), judging only new ones, in one
        pass."""
        fresh = {str(r.id): r for r in requests}
        todo = [k for k in fresh if k not in self.verdicts]
        if todo:
            view = run_for(self.judge, self.method, len(todo), self.max_batch)
            self.verdicts.update(zip(todo, view.run([fresh[k] for k in todo])))
            self.passes += 1
        return [self.verdicts[str(r.id)] for r in requests]
