"""How the loop judges: in passes of whole prompts, through :meth:`Judge.run
<flexjudge.Judge.run>`.

* All the judgments one prompt's candidates need (every score, every pair in both orders, the
  batch) go to the judge in the same pass (:func:`flexjudge.judge.selection.run_for`), so the
  engine sees them in one ``generate`` call per answer format. A prompt is never split
  across passes (unless ``max_batch`` caps a pass, where memory demands it).
* Consecutive prompts share a pass while their requests fit the judge's ``batch_size``
  (:func:`passes`): two candidates per prompt (the paper's DPO recipe) are one pair per
  prompt, far too little to fill a batch on their own. A prompt with more requests than
  ``batch_size`` still gets one pass of its own, whole.
* The judge's store makes every pass resumable: a verdict asked for again is recomputed from
  stored completions, never generated twice. :class:`VerdictMemo` keeps the verdicts of one
  process, so an evaluation that draws the same candidates in many trials judges each request
  once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

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


G = TypeVar("G")


def passes(
    groups: Iterable[G],
    build: Callable[[G], Sequence[JudgeRequest | Verdict]],
    memo: VerdictMemo,
    budget: int,
) -> Iterator[tuple[G, list[Verdict]]]:
    """Each group with the verdicts of ``build(group)``, in order, judged in passes of whole
    groups holding up to ``budget`` new requests (module rules)."""
    held: list[tuple[G, Sequence[JudgeRequest | Verdict]]] = []
    size = 0

    def flush() -> Iterator[tuple[G, list[Verdict]]]:
        memo([r for _, reqs in held for r in reqs])  # one pass for every held group
        for group, reqs in held:
            yield group, memo(reqs)

    for group in groups:
        reqs = build(group)
        new = sum(1 for r in reqs if str(r.id) not in memo.verdicts)
        if held and size + new > budget:
            yield from flush()
            held, size = [], 0
        held.append((group, reqs))
        size += new
    if held:
        yield from flush()
