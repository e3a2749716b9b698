"""``flexjudge best-of-n``: one candidate per prompt, chosen by the judge (methods and rules in
:mod:`flexjudge.loop.select`).

Output: one line per prompt, in candidate-file order - the :class:`~flexjudge.loop.select.
Selection` (status, value, ties, per-candidate values and why a candidate had no valid
verdict) and ``selected``, the chosen candidate's line as read (``null`` when the prompt had
no valid candidate). Written through ``OUT.partial``; the judge's store makes a re-run
judge nothing twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge.errors import InputError
from flexjudge.io import AtomicWriter, dump_json_line
from flexjudge.judge.selection import tie_rng
from flexjudge.loop.best_of_n_eval import BestOfNReport, evaluate_best_of_n
from flexjudge.loop.candidates import CandidateGroup
from flexjudge.loop.judging import VerdictMemo, check_max_batch, passes
from flexjudge.loop.select import (
    Method,
    Selection,
    check_method,
    requests_for,
    select,
    selection_json,
)
from flexjudge.request import JudgeRequest
from flexjudge.run.progress import RunProgress
from flexjudge.verdict import Verdict

if TYPE_CHECKING:
    from flexjudge.judge import Judge


@dataclass(frozen=True)
class BestOfSettings:
    method: Method = "score"
    seed: int = 0
    """Seeds the tie-breaks (per prompt) and the rank method's presentation order."""
    max_batch: int | None = None
    """Cap on the requests of one pass (default: all of a prompt's)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Judge request fields for prompts that do not set them (scale, criteria, reference)."""

    def __post_init__(self) -> None:
        check_method(self.method)
        check_max_batch(self.max_batch)


def choose(
    memo: VerdictMemo,
    group: CandidateGroup,
    members: Sequence[int],
    settings: BestOfSettings,
    rng: random.Random,
) -> Selection:
    """Judge (or recall) what ``members`` need in one pass and select among them."""
    reqs = requests_for(
        group, members, settings.method, seed=settings.seed, defaults=dict(settings.defaults)
    )
    return select(group, members, settings.method, memo(reqs), rng, seed=settings.seed)


def best_of_groups(
    judge: Judge,
    groups: Sequence[CandidateGroup],
    settings: BestOfSettings,
    *,
    memo: VerdictMemo | None = None,
    progress: RunProgress | None = None,
) -> Iterator[tuple[CandidateGroup, Selection]]:
    """The selection of every group, in order, over all its candidates (judged in passes of
    whole prompts up to the judge's ``batch_size`` requests: :mod:`flexjudge.loop.judging`)."""
    memo = memo or VerdictMemo(judge, settings.method, max_batch=settings.max_batch)
    defaults = dict(settings.defaults)

    def build(group: CandidateGroup) -> list[JudgeRequest | Verdict]:
        members = range(len(group))
        return requests_for(group, members, settings.method, seed=settings.seed, defaults=defaults)

    for group, verdicts in passes(groups, build, memo, judge.config.batch_size):
        rng = tie_rng(settings.seed, group.prompt_id)
        sel = select(group, range(len(group)), settings.method, verdicts, rng, seed=settings.seed)
        if progress is not None:
            progress.advance("ok" if sel.status == "selected" else "invalid")
        yield group, sel


@dataclass
class BestOfSummary:
    output: Path
    method: str
    prompts: int = 0
    selected: int = 0
    no_valid_candidate: list[Any] = field(default_factory=list)
    candidates: int = 0
    candidates_without_verdict: int = 0
    ties_broken: int = 0
    judgments: int = 0
    valid_judgments: int = 0
    seconds: float = 0.0
    from_store: int = 0
    generated: int = 0

    def add(self, sel: Selection) -> None:
        self.prompts += 1
        self.candidates += len(sel.members)
        self.candidates_without_verdict += len(sel.members) - sel.n_valid
        self.judgments += sel.judgments
        self.valid_judgments += sel.valid_judgments
        if sel.status == "selected":
            self.selected += 1
            self.ties_broken += sel.tied > 1
        else:
            self.no_valid_candidate.append(sel.key)

    @property
    def valid_verdict_rate(self) -> float | None:
        return self.valid_judgments / self.judgments if self.judgments else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "method": self.method,
            "prompts": self.prompts,
            "selected": self.selected,
            "no_valid_candidate": len(self.no_valid_candidate),
            "no_valid_candidate_ids": list(self.no_valid_candidate),
            "candidates": self.candidates,
            "candidates_without_valid_verdict": self.candidates_without_verdict,
            "ties_broken_at_random": self.ties_broken,
            "judgments": self.judgments,
            "valid_judgments": self.valid_judgments,
            "valid_verdict_rate": self.valid_verdict_rate,
            "seconds": round(self.seconds, 3),
            "from_store": self.from_store,
            "generated": self.generated,
        }


def selection_row(group: CandidateGroup, sel: Selection) -> dict[str, Any]:
    row = selection_json(sel, group)
    row["selected"] = dict(group.candidates[sel.index].row) if sel.index is not None else None
    return row


def best_of_n_into(
    judge: Judge,
    groups: Sequence[CandidateGroup],
    output: Path,
    settings: BestOfSettings,
    *,
    memo: VerdictMemo | None = None,
    progress: RunProgress | None = None,
    on_selection: Callable[[CandidateGroup, Selection], None] | None = None,
) -> BestOfSummary:
    """Select for every group into ``output`` (module rules)."""
    summary = BestOfSummary(output, settings.method)
    stats = judge.cache_stats
    hits0, gen0 = (stats.hits, stats.generated) if stats else (0, 0)
    start = time.perf_counter()
    with AtomicWriter(output) as out:
        for group, sel in best_of_groups(judge, groups, settings, memo=memo, progress=progress):
            out.write(dump_json_line(selection_row(group, sel)))
            summary.add(sel)
            if on_selection is not None:
                on_selection(group, sel)
    summary.seconds = time.perf_counter() - start
    if stats:
        summary.from_store, summary.generated = stats.hits - hits0, stats.generated - gen0
    return summary


def gold_columns(groups: Sequence[CandidateGroup]) -> tuple[list[list[int]], list[list[bool]]]:
    """(positions, correctness) per group; every candidate needs its gold ``correct``."""
    missing = [c.id for g in groups for c in g.candidates if c.correct is None]
    if missing:
        raise InputError(
            f"{len(missing)} candidates have no gold 'correct' (first: {missing[0]!r}); "
            "add the field or pass --gold FILE"
        )
    positions = []
    for g in groups:
        ps = [c.index for c in g.candidates]
        if len(set(ps)) != len(ps):
            raise InputError(f"prompt {g.prompt_id!r} repeats a candidate index")
        positions.append(ps)
    return positions, [[bool(c.correct) for c in g.candidates] for g in groups]


def evaluate_groups(
    judge: Judge,
    groups: Sequence[CandidateGroup],
    settings: BestOfSettings,
    *,
    ns: Sequence[int] = (2, 4, 8, 16),
    trials: int = 10,
    memo: VerdictMemo | None = None,
) -> BestOfNReport:
    """Best-of-N with the judge choosing by ``settings.method`` (rules:
    :mod:`flexjudge.loop.best_of_n_eval`). ``memo`` (the one a selection pass filled) keeps
    each request judged once: ``score`` and ``pairwise`` draws reuse the full pass's verdicts;
    ``rank`` judges each new subset."""
    positions, correct = gold_columns(groups)
    memo = memo or VerdictMemo(judge, settings.method, max_batch=settings.max_batch)

    def chooser(p: int, members: Sequence[int], rng: random.Random) -> int | None:
        return choose(memo, groups[p], sorted(members), settings, rng).index

    report = evaluate_best_of_n(
        positions, correct, chooser, ns=ns, trials=trials, seed=settings.seed
    )
    verdicts = list(memo.verdicts.values())
    report.details.update(
        method=settings.method,
        candidates=sum(len(g) for g in groups),
        judgments=len(verdicts),
        valid_verdict_rate=sum(v.ok for v in verdicts) / len(verdicts) if verdicts else None,
    )
    return report
