"""``flexjudge pairs``: preference pairs from a judge, written as a dataset TRL's
``DPOTrainer`` reads as it is.

Rules:

* **Which pairs.** Within each prompt: every pair of candidates (``a`` before ``b`` in file
  order), or, with the ``expected-winner`` policy, every pair of one candidate that matches
  ``chosen_if`` with one that does not (the paper: the T = 0.8 response against the T = 1.2
  one). ``max_pairs_per_prompt`` keeps a seeded sample of them.
* **Judging.** Each pair is a pairwise request judged in both orders (``order="swap"``), and
  all pairs of one prompt go to the judge in one pass (:mod:`flexjudge.loop.judging`), through
  its store: a re-run judges nothing again.
* **Keeping.** The policy decides (:mod:`flexjudge.loop.policies`); the stats count pairs
  judged, kept and dropped by reason.
* **Rows.** Conversational ``prompt`` (the policy's turns, plain-string content), ``chosen``
  and ``rejected`` (one assistant turn each), an ``images`` column of absolute image paths
  when any prompt has images (a list, ``[]`` for a prompt without; TRL inserts the image
  placeholders before the first user turn's text), and metadata columns that TRL leaves
  alone: ids, both-order winners (by candidate id, ``"tie"`` or ``null``), the mean scores
  over both orders, agreement, margin and temperatures. Written through ``OUT.partial``; the
  stats go to ``OUT`` with the suffix ``.stats.json``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge.errors import ConfigError
from flexjudge.io import AtomicWriter, atomic_write_text, dump_json_line
from flexjudge.loop.candidates import CandidateGroup
from flexjudge.loop.judging import VerdictMemo, check_max_batch, passes
from flexjudge.loop.policies import DROP_REASONS, Decision, PairJudgment, PairPolicy
from flexjudge.request import JudgeRequest, Task
from flexjudge.run.progress import RunProgress
from flexjudge.verdict import Verdict

if TYPE_CHECKING:
    from flexjudge.judge import Judge

#: Media a prompt may carry that TRL's DPOTrainer cannot take (it takes images).
UNTRAINABLE_MEDIA = ("videos", "audios", "molecules")


@dataclass(frozen=True)
class PairSettings:
    policy: PairPolicy = field(default_factory=PairPolicy)
    max_pairs_per_prompt: int | None = None
    seed: int = 0
    max_batch: int | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_max_batch(self.max_batch)
        if self.max_pairs_per_prompt is not None and self.max_pairs_per_prompt < 1:
            raise ConfigError(
                f"max_pairs_per_prompt must be at least 1, got {self.max_pairs_per_prompt}"
            )


def candidate_pairs(group: CandidateGroup, settings: PairSettings) -> list[tuple[int, int]]:
    """The pairs of one prompt to judge (module rules), as indices into its candidates."""
    n = len(group.candidates)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    policy = settings.policy
    if policy.name == "expected-winner":
        flags = [policy.expected(c) for c in group.candidates]
        pairs = [(a, b) for a, b in pairs if flags[a] != flags[b]]
    cap = settings.max_pairs_per_prompt
    if cap is not None and len(pairs) > cap:
        rng = random.Random(f"{settings.seed}:pairs:{group.prompt_id}")
        pairs = sorted(rng.sample(pairs, cap))
    return pairs


@dataclass
class PairStats:
    output: Path
    policy: dict[str, Any]
    prompts: int = 0
    prompts_without_pairs: int = 0
    pairs_judged: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    votes: int = 0
    valid_votes: int = 0
    seconds: float = 0.0
    from_store: int = 0
    generated: int = 0

    def add(self, decision: Decision, pair: PairJudgment) -> None:
        self.pairs_judged += 1
        self.votes += pair.verdict.n_votes
        self.valid_votes += pair.verdict.n_valid
        if decision.keep:
            self.kept += 1
        else:
            reason = decision.reason or "invalid"
            self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            **self.policy,
            "prompts": self.prompts,
            "prompts_without_pairs": self.prompts_without_pairs,
            "pairs_judged": self.pairs_judged,
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "votes": self.votes,
            "valid_votes": self.valid_votes,
            "valid_vote_rate": self.valid_votes / self.votes if self.votes else None,
            "seconds": round(self.seconds, 3),
            "from_store": self.from_store,
            "generated": self.generated,
        }


def judge_pairs(
    judge: Judge,
    groups: Sequence[CandidateGroup],
    settings: PairSettings,
    *,
    progress: RunProgress | None = None,
) -> Iterator[tuple[CandidateGroup, list[PairJudgment]]]:
    """Every prompt's pairs and their verdicts, in order (judged in passes of whole prompts up
    to the judge's ``batch_size`` requests: :mod:`flexjudge.loop.judging`)."""
    memo = VerdictMemo(judge, "pairwise", max_batch=settings.max_batch)
    defaults = dict(settings.defaults)
    chosen = {id(g): candidate_pairs(g, settings) for g in groups}

    def build(group: CandidateGroup) -> list[JudgeRequest | Verdict]:
        cands, pid = group.candidates, group.prompt_id
        return [
            group.request(f"{pid}|{cands[a].id}|{cands[b].id}", Task.PAIRWISE, [a, b], defaults)
            for a, b in chosen[id(group)]
        ]

    for group, verdicts in passes(groups, build, memo, judge.config.batch_size):
        cands = group.candidates
        judged = [
            PairJudgment(cands[a], cands[b], v) for (a, b), v in zip(chosen[id(group)], verdicts)
        ]
        if progress is not None:
            progress.advance("ok" if judged else "invalid")
        yield group, judged


def _winner_id(pair: PairJudgment, outcome: str | None) -> str | None:
    if outcome is None:
        return None
    return {"A": pair.a.id, "B": pair.b.id}.get(outcome, outcome)


def pair_row(
    group: CandidateGroup, pair: PairJudgment, decision: Decision, *, images: bool, policy: str
) -> dict[str, Any]:
    """The dataset row of a kept pair (module rules)."""
    chosen, rejected = (pair.a, pair.b) if decision.chosen == "A" else (pair.b, pair.a)
    got = pair.verdict.scores
    scores: list[float | None] = list(got) if got else [None, None]
    s_chosen, s_rejected = (
        (scores[0], scores[1]) if decision.chosen == "A" else (scores[1], scores[0])
    )
    row: dict[str, Any] = {
        "prompt": group.prompt.conversation(),
        "chosen": [{"role": "assistant", "content": chosen.text}],
        "rejected": [{"role": "assistant", "content": rejected.text}],
    }
    if images:
        row["images"] = list(group.prompt.images)
    for key in UNTRAINABLE_MEDIA:
        if getattr(group.prompt, key):
            row[key] = list(getattr(group.prompt, key))
    margin = None if s_chosen is None or s_rejected is None else s_chosen - s_rejected
    row.update(
        prompt_id=group.prompt_id,
        chosen_id=chosen.id,
        rejected_id=rejected.id,
        policy=policy,
        chosen_score=s_chosen,
        rejected_score=s_rejected,
        margin=margin,
        agreement=pair.verdict.agreement,
        winner_forward=_winner_id(pair, pair.forward),
        winner_reverse=_winner_id(pair, pair.reverse),
        chosen_temperature=chosen.get("temperature"),
        rejected_temperature=rejected.get("temperature"),
    )
    return row


def stats_path(output: Path) -> Path:
    return output.with_name(output.stem + ".stats.json")


def pairs_into(
    judge: Judge,
    groups: Sequence[CandidateGroup],
    output: Path,
    settings: PairSettings,
    *,
    progress: RunProgress | None = None,
) -> PairStats:
    """Judge, filter and write the pairs of every prompt (module rules); returns the stats,
    also written next to the output."""
    stats = PairStats(output, settings.policy.describe())
    cache = judge.cache_stats
    hits0, gen0 = (cache.hits, cache.generated) if cache else (0, 0)
    images = any(g.prompt.images for g in groups)
    start = time.perf_counter()
    with AtomicWriter(output) as out:
        for group, judged in judge_pairs(judge, groups, settings, progress=progress):
            stats.prompts += 1
            stats.prompts_without_pairs += not judged
            for pair in judged:
                decision = settings.policy.decide(pair)
                stats.add(decision, pair)
                if decision.keep:
                    row = pair_row(
                        group, pair, decision, images=images, policy=settings.policy.name
                    )
                    out.write(dump_json_line(row))
    stats.seconds = time.perf_counter() - start
    if cache:
        stats.from_store, stats.generated = cache.hits - hits0, cache.generated - gen0
    atomic_write_text(stats_path(output), json.dumps(stats.as_dict(), indent=2) + "\n")
    return stats
