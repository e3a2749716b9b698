"""Best-of-N accuracy against gold correctness, over random draws (``flexjudge best-of-n
--eval``, :func:`flexjudge.loop.evaluate_groups`; and, through :func:`evaluate_scores`, a
benchmark's best-of-N metric such as PAMPA's). Pure: it reads verdict-derived values only.

The protocol of the official ``example/pampa/best_of_N.py`` (official-code.md §4.2):

* **Draws.** For each N and each of ``trials`` trials, N candidate positions are drawn from
  the M per prompt without replacement (``rng.sample(range(M), N)``), one draw per trial for
  all prompts (the official script draws N of its 16 response files). Positions are the
  candidates' ``index`` (their sample order); a prompt lacking a drawn position has fewer
  members.
* **Selection** among the drawn members: by the judge (:mod:`flexjudge.loop.select`; the
  official way is the top score), ties broken with ``rng.choice``. A prompt with no valid
  candidate among its members has no selection and counts as wrong (the official script
  counts a "None" prediction as wrong).
* **Accuracy** of a trial: selected-and-correct prompts over all prompts. Reported per N: the
  mean and the population standard deviation over trials (``np.mean``, ``np.std``), beside
  two baselines over the same draws: ``random`` (the expected accuracy of a uniform pick among
  the members: their share of correct ones) and ``oracle`` (some member is correct).
* Every generator is seeded from ``seed``, N and the trial, so a report is reproducible and
  each N's draws do not depend on the other Ns asked for.

:func:`evaluate_best_of_n` takes any chooser; :func:`evaluate_scores` is the judge-free form
for precomputed scores (a benchmark's verdict file).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flexjudge.errors import ConfigError, InputError

#: chooser(prompt index, members (indices into that prompt's candidates), rng) -> the chosen
#: member, or None when none of them has a valid verdict.
Chooser = Callable[[int, Sequence[int], random.Random], int | None]


@dataclass(frozen=True)
class Spread:
    mean: float
    std: float
    values: tuple[float, ...] = ()

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.fmean(values), statistics.pstdev(values), tuple(values))

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "trials": list(self.values)}


@dataclass(frozen=True)
class BestOfNRow:
    n: int
    judge: Spread
    random: Spread
    oracle: Spread
    no_selection: Spread
    """Prompts without a selection per trial (no valid candidate among the drawn)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "judge": self.judge.as_dict(),
            "random": self.random.as_dict(),
            "oracle": self.oracle.as_dict(),
            "no_selection": self.no_selection.as_dict(),
        }


@dataclass
class BestOfNReport:
    prompts: int
    max_candidates: int
    trials: int
    seed: int
    rows: list[BestOfNRow] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompts": self.prompts,
            "max_candidates": self.max_candidates,
            "trials": self.trials,
            "seed": self.seed,
            **self.details,
            "rows": [r.as_dict() for r in self.rows],
        }

    def table(self) -> list[tuple[str, str, str, str, str]]:
        """(N, judge, random, oracle, no selection) as text, for a printed table."""

        def pm(s: Spread) -> str:
            return f"{100 * s.mean:.2f} ± {100 * s.std:.2f}"

        return [
            (str(r.n), pm(r.judge), pm(r.random), pm(r.oracle), f"{r.no_selection.mean:.1f}")
            for r in self.rows
        ]


def check_ns(ns: Sequence[int], trials: int, max_candidates: int) -> list[int]:
    if trials < 1:
        raise ConfigError(f"trials must be at least 1, got {trials}")
    if not ns:
        raise ConfigError("give at least one N")
    bad = [n for n in ns if isinstance(n, bool) or not isinstance(n, int) or n < 1]
    if bad:
        raise ConfigError(f"N must be positive integers, got {bad}")
    over = [n for n in ns if n > max_candidates]
    if over:
        raise ConfigError(
            f"N={over} is more than the {max_candidates} candidates per prompt in the file"
        )
    return sorted(set(ns))


def evaluate_best_of_n(
    positions: Sequence[Sequence[int]],
    correct: Sequence[Sequence[bool]],
    chooser: Chooser,
    *,
    ns: Sequence[int] = (2, 4, 8, 16),
    trials: int = 10,
    seed: int = 0,
) -> BestOfNReport:
    """The report (module rules). ``positions[p][k]`` is the sample position (``index``) of
    prompt ``p``'s candidate ``k`` and ``correct[p][k]`` its gold correctness."""
    if not positions:
        raise InputError("no prompts to evaluate")
    width = max(max(ps, default=-1) for ps in positions) + 1
    ns = check_ns(ns, trials, width)
    lookup = [{pos: k for k, pos in enumerate(ps)} for ps in positions]
    report = BestOfNReport(len(positions), width, trials, seed)
    for n in ns:
        judge, rand, oracle, missing = [], [], [], []
        for t in range(trials):
            rng = random.Random(f"{seed}:{n}:{t}")
            drawn = sorted(rng.sample(range(width), n))
            hit = pick = best = 0.0
            none = 0
            for p, table in enumerate(lookup):
                members = [table[d] for d in drawn if d in table]
                if not members:
                    none += 1
                    continue
                flags = [correct[p][m] for m in members]
                pick += sum(flags) / len(flags)
                best += any(flags)
                chosen = chooser(p, members, rng)
                if chosen is None:
                    none += 1
                else:
                    hit += correct[p][chosen]
            total = len(lookup)
            judge.append(hit / total)
            rand.append(pick / total)
            oracle.append(best / total)
            missing.append(float(none))
        report.rows.append(
            BestOfNRow(n, Spread.of(judge), Spread.of(rand), Spread.of(oracle), Spread.of(missing))
        )
    return report


def top_score_chooser(scores: Sequence[Sequence[float | None]]) -> Chooser:
    """The official rule over precomputed scores: the top valid score, ties by
    ``rng.choice``; None when no member has a score."""

    def choose(p: int, members: Sequence[int], rng: random.Random) -> int | None:
        valid = [m for m in members if scores[p][m] is not None]
        if not valid:
            return None
        top = max(scores[p][m] for m in valid)  # type: ignore[type-var]
        tied = [m for m in valid if scores[p][m] == top]
        return tied[0] if len(tied) == 1 else rng.choice(tied)

    return choose


def evaluate_scores(
    groups: Sequence[Any],
    scores: Sequence[float | None],
    correct: Sequence[bool],
    *,
    positions: Sequence[int] | None = None,
    ns: Sequence[int] = (2, 4, 8, 16),
    trials: int = 10,
    seed: int = 0,
) -> BestOfNReport:
    """Best-of-N over flat per-candidate columns: ``groups[i]`` (the prompt or molecule),
    ``scores[i]`` (None: no valid verdict), ``correct[i]``, and optionally ``positions[i]``
    (the sample index; default: order within the group). This is the form a benchmark's
    columns have (the PAMPA suite: ``cols.groups``, ``cols.preds``, ``cols.golds``)."""
    if not len(groups) == len(scores) == len(correct):
        raise InputError(
            f"columns differ in length: {len(groups)} groups, {len(scores)} scores, "
            f"{len(correct)} correct"
        )
    order: dict[Any, int] = {}
    pos: list[list[int]] = []
    sc: list[list[float | None]] = []
    ok: list[list[bool]] = []
    for i, (g, s, c) in enumerate(zip(groups, scores, correct)):
        if g not in order:
            order[g] = len(pos)
            pos.append([])
            sc.append([])
            ok.append([])
        p = order[g]
        pos[p].append(positions[i] if positions is not None else len(pos[p]))
        sc[p].append(s)
        ok[p].append(bool(c))
    for p, ps in enumerate(pos):
        if len(set(ps)) != len(ps):
            raise InputError(f"group {list(order)[p]!r} repeats a candidate position")
    report = evaluate_best_of_n(pos, ok, top_score_chooser(sc), ns=ns, trials=trials, seed=seed)
    valid = sum(s is not None for s in scores)
    report.details.update(
        method="score",
        candidates=len(scores),
        valid_verdict_rate=valid / len(scores) if scores else None,
    )
    return report
