"""Adaptive voting: draw an item's votes in rounds and stop once the votes not yet drawn can no
longer change its verdict.

Pure functions; the pipeline (:mod:`flexjudge.judge.pipeline`) draws the rounds. Rules:

* **Rounds** (:func:`round_sizes`): the first round draws ``k // 2 + 1`` votes per presentation
  order (the fewest that can settle a majority of ``k``), then one vote per round, up to ``k``.
* **What the rule assumes about the votes not drawn**: nothing. Each of the ``remaining``
  votes may be invalid or valid with any answer the format allows (any winner, label or
  ranking; any score on the scale). An item stops only when *every* such completion gives the
  same verdict as the votes drawn so far, under :func:`flexjudge.judge.voting.aggregate`.
* **pairwise, label** - the leading outcome must beat every other one by more than
  ``remaining`` votes (``lead - second > remaining``; an outcome not yet seen counts 0). Then no
  completion makes a tie of counts, so the tie-breaks (mean score difference, first seen) never
  decide. At a lead of exactly ``remaining`` the rule waits, even where the tie-break could
  not turn (conservative there; exact where the runner-up could overtake).
* **batch** - rankings come from rank sums over the valid votes. Each response must trail the
  one ranked above it by more than ``remaining * (n - 1)`` rank points, the most that
  ``remaining`` votes can close (one vote ranks it first and the other last).
* **score** - the verdict is the mean (or median) of the valid scores. The final value lies
  between the aggregate of the drawn scores with ``remaining`` lowest scores of the scale added,
  and the same with ``remaining`` highest ones (both aggregates are monotone in every score).
  The item stops when both bounds are within ``tolerance`` (scale points) of the current
  value. With ``tolerance=0`` only an exhausted vote budget stops it.
* **No valid vote yet**: never settled while votes remain.

What "the same verdict" means: the same winner, label or ranking (for scores: a value within
``tolerance``). Fields computed over the votes (the per-response mean ``scores``,
``agreement``, ``n_votes``, ``order_agreement``) are those of the votes drawn, as always.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from itertools import pairwise

from flexjudge.errors import ConfigError
from flexjudge.judge.voting import ScoreReduce, reduce_scores
from flexjudge.request import Scale, Task, letter
from flexjudge.verdict import Vote


def round_sizes(votes: int) -> list[int]:
    """Votes per presentation order drawn in each round, summing to ``votes`` (module rules)."""
    if votes < 1:
        raise ConfigError(f"votes must be at least 1, got {votes}")
    first = min(votes, votes // 2 + 1)
    return [first] + [1] * (votes - first)


def settled(
    votes: Sequence[Vote],
    task: Task,
    *,
    remaining: int,
    scale: Scale,
    score_reduce: ScoreReduce = "mean",
    tolerance: float = 0.0,
) -> bool:
    """Whether ``remaining`` more votes, whatever they are, leave the verdict of ``votes`` as
    it is (module rules). ``votes`` are all the votes drawn for one item, every order."""
    if remaining < 0:
        raise ConfigError(f"remaining votes must be >= 0, got {remaining}")
    if tolerance < 0:
        raise ConfigError(f"the adaptive score tolerance must be >= 0, got {tolerance}")
    if remaining == 0:
        return True
    valid = [v for v in votes if v.valid]
    if not valid:
        return False
    if task is Task.SCORE:
        values = [(v.scores or [0.0])[0] for v in valid]
        return score_spread(values, remaining, scale, score_reduce) <= tolerance
    if task is Task.BATCH:
        return ranking_margin(valid) > remaining * (len(valid[0].scores or []) - 1)
    outcomes = [v.winner if task is Task.PAIRWISE else v.label for v in valid]
    return outcome_lead(outcomes) > remaining


def outcome_lead(outcomes: Iterable[Hashable]) -> int:
    """Count of the most common outcome minus that of the second (0 when there is none)."""
    counts = [n for _, n in Counter(outcomes).most_common(2)]
    return counts[0] - (counts[1] if len(counts) > 1 else 0) if counts else 0


def ranking_margin(valid: Sequence[Vote]) -> int:
    """The smallest gap in rank sums between neighbours of the aggregated ranking (rank 1 is
    best; ``valid`` votes all rank the same responses)."""
    n = len(valid[0].scores or [])
    sums = sorted(sum((v.ranking or []).index(letter(i)) + 1 for v in valid) for i in range(n))
    return min((b - a for a, b in pairwise(sums)), default=0)


def score_spread(
    values: Sequence[float], remaining: int, scale: Scale, how: ScoreReduce = "mean"
) -> float:
    """How far ``remaining`` more scores on ``scale`` can move the aggregate of ``values``."""
    now = reduce_scores(values, how)
    low = reduce_scores([*values, *[scale.low] * remaining], how)
    high = reduce_scores([*values, *[scale.high] * remaining], how)
    return max(now - low, high - now)
