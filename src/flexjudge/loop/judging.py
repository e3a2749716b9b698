"""How the loop judges: one pass per prompt, through :meth:`Judge.run <flexjudge.Judge.run>`.

All the judgments one prompt's candidates need (every score, every pair in both orders, the
batch) go to the judge as one chunk, so the engine sees them in one ``generate`` call per
answer format; ``max_batch`` caps the chunk where memory demands it. The judge's store makes
every pass resumable: a verdict asked for again is recomputed from stored completions, never
generated twice. :class:`VerdictMemo` keeps the verdicts of one process, so an evaluation
that draws the same candidates in many trials judges each request once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flexjudge.errors import ConfigError
from flexjudge.request import JudgeRequest
from flexjudge.verdict import Verdict

if TYPE_CHECKING:
    from flexjudge.judge import Judge


def check_max_batch(max_batch: int | None) -> None:
    if max_batch is not None and (isinstance(max_batch, bool) or max_batch < 1):
        raise ConfigError(f"max_batch must be a positive integer, got {max_batch!r}")


def judge_pass(
    judge: Judge, requests: Sequence[JudgeRequest], *, max_batch: int | None = None
) -> list[Verdict]:
    """The verdicts of ``requests``, in order, judged as one chunk (or chunks of
    ``max_batch`` requests)."""
    if not requests:
        return []
    size = len(requests) if max_batch is None else min(max_batch, len(requests))
    return list(judge.with_config(batch_size=size).run(requests))


class VerdictMemo:
    """Verdicts by request id, for one judge and one set of settings."""

    def __init__(self, judge: Judge, *, max_batch: int | None = None) -> None:
        self.judge = judge
        self.max_batch = max_batch
        self.verdicts: dict[str, Verdict] = {}
        self.passes = 0

    def __call__(self, requests: Sequence[JudgeRequest]) -> list[Verdict]:
        """Verdicts of ``requests`` (ids must name their content), judging only new ones."""
        todo = [r for r in dict.fromkeys(_key(r) for r in requests) if r not in self.verdicts]
        if todo:
            fresh = {_key(r): r for r in requests}
            got = judge_pass(self.judge, [fresh[k] for k in todo], max_batch=self.max_batch)
            self.passes += 1
            self.verdicts.update(zip(todo, got))
        return [self.verdicts[_key(r)] for r in requests]


def _key(request: JudgeRequest) -> str:
    return str(request.id)
