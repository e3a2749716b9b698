"""The seed recipe of the paper (App. B.1) as configurable steps: quality filter, longest trace
per prompt, single-score and pairwise selection, scale randomisation, training rows.

Rules, in order (every count lands in the stats report):

1. **Quality filter.** Each trace is parsed with :func:`~flexjudge.parsing.parse_output` as a
   pairwise 1-10 judgement (``<think>`` primed). It is *correct* when the parse is valid, both
   scores equal the reference scores exactly, and its reasoning holds nothing the prompt
   builder would neutralise (chat-template tokens such as ``<|im_end|>`` or our markup): such
   text would end the turn or forge tags inside a training target.
2. **Longest correct trace per prompt**, by the token count of the whole trace text; on equal
   counts the earlier trace (corpus seed order) wins.
3. **Pairwise selection first**: among kept traces whose reasoning (the text before
   ``</think>``, both assistants) has more than ``pairwise_min_tokens`` tokens, the
   ``n_pairwise`` longest (ties: corpus order).
4. **Single-score selection** from the prompts *not* chosen in step 3 (the two selections are
   disjoint, so no prompt appears twice and the data holds ``n_single + n_pairwise`` distinct
   prompts; pairwise goes first so that it keeps the longest traces, as the paper states).
   Assistant 1's reasoning is cut out of the pairwise reasoning by the ``cut`` rule (below); it
   must have more than ``single_min_tokens`` tokens. ``single_pick="random"`` (default) draws
   ``n_single`` of the eligible prompts with the seed, ``"longest"`` takes the longest. The
   target's answer is Assistant 1's score; the prompt is the SCORE task's, for one response.
5. **Scale randomisation**: each selected example, with probability ``rescale_share`` (drawn
   from a generator seeded by ``seed``, the format and the question id, so a draw does not
   depend on the other selections), moves from 1-10 to 1-5: every score becomes
   ``ceil(score / 2)`` (score/2 rounded half up: 1,2→1  3,4→2  5,6→3  7,8→4  9,10→5) and the
   prompt is built at scale 1-5 (its scale slot and example answers). A pairwise example whose
   two scores would become equal while they differed at 1-10 stays at 1-10 (a preference must
   not turn into a tie the reasoning argues against); the report counts these.
6. **Rows**: :func:`~flexjudge.train.to_prompt_completion` on a
   :class:`~flexjudge.train.TrainingExample` (answer-first targets with ``answer_first``), plus
   a ``meta`` object (question id, seed, format, scale, token counts). Every target is parsed
   back (think-first) and must give the chosen scores.

**Cut rules** (Assistant 2's part of the reasoning). The reasoning is split into sentences: text
up to ``.``, ``!`` or ``?`` followed by white space, or up to a line break. A sentence mentions
Assistant 2 when it matches ``assistant2_pattern`` (default: "Assistant 2", "Assistant two",
"second assistant/answer/response", any case).

* ``"prefix"`` (default): Assistant 1's reasoning is the text *before the first sentence that
  mentions Assistant 2*; everything from that sentence on (Assistant 2's reasoning, the
  comparison, the scores) is cut.
* ``"drop"``: every sentence that mentions Assistant 2 is removed, the rest kept in order.

A reasoning that never mentions Assistant 2 is not eligible (its boundary is unknown).
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from flexjudge.curate.corpus import Corpus, CorpusItem
from flexjudge.curate.lengths import TokenCounter, WhitespaceCounter, length_summary
from flexjudge.curate.teacher import TEACHER_SPEC, Trace, teacher_request
from flexjudge.errors import ConfigError, InputError
from flexjudge.io import atomic_write_text
from flexjudge.parsing import AnswerSpec, parse_output
from flexjudge.prompts import neutralize
from flexjudge.prompts.protocol import THINK_PRIME
from flexjudge.request import JudgeRequest, Scale, Task
from flexjudge.train.data import TrainingExample, to_prompt_completion, write_rows

DEFAULT_ASSISTANT2_PATTERN = r"\bassistant\s*(?:2|two)\b|\bsecond\s+(?:assistant|answer|response)\b"
SCALE_1_10 = Scale(1, 10, 0)
SCALE_1_5 = Scale(1, 5, 0)
_SENTENCE_BREAK = re.compile(r"((?<=[.!?])[ \t]+|[ \t]*\n\s*)")


@dataclass(frozen=True)
class CurateConfig:
    """Selection settings; the defaults are the paper's."""

    n_single: int = 500
    single_min_tokens: int = 375
    n_pairwise: int = 500
    pairwise_min_tokens: int = 750
    single_pick: Literal["random", "longest"] = "random"
    cut: Literal["prefix", "drop"] = "prefix"
    rescale_share: float = 0.5
    """Probability that an example moves to the 1-5 scale."""
    seed: int = 0
    answer_first: bool = False
    max_examples: int | None = None
    """Cap on the rows; when n_single + n_pairwise exceeds it both shrink proportionally."""
    assistant2_pattern: str = DEFAULT_ASSISTANT2_PATTERN

    def __post_init__(self) -> None:
        for name in ("n_single", "n_pairwise", "single_min_tokens", "pairwise_min_tokens"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.single_pick not in ("random", "longest"):
            raise ConfigError(f"single_pick must be random or longest, got {self.single_pick!r}")
        if self.cut not in ("prefix", "drop"):
            raise ConfigError(f"cut must be prefix or drop, got {self.cut!r}")
        if not 0 <= self.rescale_share <= 1:
            raise ConfigError(f"rescale_share must be in [0, 1], got {self.rescale_share}")
        if self.max_examples is not None and self.max_examples < 1:
            raise ConfigError(f"max_examples must be at least 1, got {self.max_examples}")
        try:
            re.compile(self.assistant2_pattern)
        except re.error as exc:
            raise ConfigError(f"assistant2_pattern is not a regular expression: {exc}") from exc

    def budget(self) -> tuple[int, int]:
        """(n_single, n_pairwise) after the ``max_examples`` cap: single gets
        round(cap * n_single / (n_single + n_pairwise)), pairwise the rest."""
        total = self.n_single + self.n_pairwise
        if self.max_examples is None or total <= self.max_examples:
            return self.n_single, self.n_pairwise
        single = round(self.max_examples * self.n_single / total)
        return single, self.max_examples - single


@dataclass(frozen=True)
class KeptTrace:
    """The longest correct trace of one prompt."""

    index: int
    """Corpus position (ties and output order)."""
    item: CorpusItem
    trace: Trace
    reasoning: str
    scores: tuple[int, int]
    n_tokens: int
    reasoning_tokens: int


@dataclass
class CurateResult:
    rows: list[dict[str, Any]]
    examples: list[TrainingExample]
    stats: dict[str, Any] = field(default_factory=dict)


def rescale_score(score: int) -> int:
    """1-10 → 1-5: score/2 rounded half up, i.e. ``ceil(score / 2)``."""
    return math.ceil(score / 2)


def _sentences(text: str) -> list[tuple[str, str]]:
    """(sentence, separator after it) pairs that join back to ``text``."""
    parts = _SENTENCE_BREAK.split(text)
    parts.append("")  # the last sentence has no separator
    return [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def assistant1_reasoning(
    reasoning: str, cut: str = "prefix", pattern: str = DEFAULT_ASSISTANT2_PATTERN
) -> str | None:
    """Assistant 1's part of a pairwise reasoning by the ``cut`` rule (module docstring);
    None when no sentence mentions Assistant 2."""
    mention = re.compile(pattern, re.IGNORECASE)
    pairs = _sentences(reasoning)
    if not any(mention.search(s) for s, _ in pairs):
        return None
    out: list[str] = []  # sentence, separator, sentence, separator, ...
    for sentence, sep in pairs:
        if mention.search(sentence):
            if cut == "prefix":
                break
            # keep a paragraph break that the dropped sentence carried
            if out and "\n" in sep and "\n" not in out[-1]:
                out[-1] = sep
            continue
        out += [sentence, sep]
    return "".join(out).strip()


def quality_filter(
    items: Sequence[CorpusItem], traces: Sequence[Trace], count: TokenCounter
) -> tuple[list[KeptTrace], dict[str, Any]]:
    """Steps 1-2: correct traces, then the longest per prompt (in corpus order)."""
    index = {it.question_id: i for i, it in enumerate(items)}
    unknown = [t.question_id for t in traces if t.question_id not in index]
    if unknown:
        raise InputError(
            f"{len(unknown)} of {len(traces)} traces are for question ids not in the "
            f"corpus (first: {unknown[0]!r}); were they made from another corpus?"
        )
    invalid: dict[str, int] = {}
    mismatch = markup = 0
    best: dict[str, KeptTrace] = {}
    correct_tokens: list[int] = []
    for trace in traces:
        item = items[index[trace.question_id]]
        parsed = parse_output(trace.text, TEACHER_SPEC, primed=True)
        if not parsed.valid:
            invalid[parsed.reason or "empty"] = invalid.get(parsed.reason or "empty", 0) + 1
            continue
        assert parsed.scores is not None
        if tuple(parsed.scores) != item.reference:
            mismatch += 1
            continue
        if neutralize(parsed.reasoning) != parsed.reasoning:
            markup += 1
            continue
        n = count(trace.text)
        correct_tokens.append(n)
        old = best.get(trace.question_id)
        if old is None or n > old.n_tokens:
            best[trace.question_id] = KeptTrace(
                index[trace.question_id],
                item,
                trace,
                parsed.reasoning,
                (int(parsed.scores[0]), int(parsed.scores[1])),
                n,
                count(parsed.reasoning),
            )
    kept = sorted(best.values(), key=lambda k: k.index)
    per_seed: dict[str, int] = {}
    for t in traces:
        per_seed[str(t.seed)] = per_seed.get(str(t.seed), 0) + 1
    with_trace = {t.question_id for t in traces}
    stats = {
        "traces": len(traces),
        "traces_per_seed": per_seed,
        "items_without_trace": sum(it.question_id not in with_trace for it in items),
        "invalid": dict(sorted(invalid.items())),
        "invalid_total": sum(invalid.values()),
        "score_mismatch": mismatch,
        "markup_in_reasoning": markup,
        "correct": len(correct_tokens),
        "prompts_kept": len(kept),
        "lengths": {
            "correct_trace_tokens": length_summary(correct_tokens),
            "kept_trace_tokens": length_summary([k.n_tokens for k in kept]),
            "kept_reasoning_tokens": length_summary([k.reasoning_tokens for k in kept]),
        },
    }
    return kept, stats


def _scale_for(config: CurateConfig, fmt: str, qid: str) -> bool:
    """Whether this example moves to 1-5 (its own seeded draw)."""
    return random.Random(f"{config.seed}:{fmt}:{qid}").random() < config.rescale_share


def _example(
    kept: KeptTrace, fmt: str, reasoning: str, scores: Sequence[int], scale: Scale
) -> TrainingExample:
    base = teacher_request(kept.item)
    if fmt == "single":
        request = JudgeRequest.build(
            id=base.id,
            task=Task.SCORE,
            instruction=kept.item.question,
            responses=[kept.item.answer1],
            scale=scale,
        )
    else:
        request = base.model_copy(update={"scale": scale})
    return TrainingExample(request, reasoning, [scale.fmt(s) for s in scores])


def _parses_back(example: TrainingExample, scores: Sequence[int]) -> bool:
    row = to_prompt_completion(example)
    target = row["completion"][0]["content"]
    parsed = parse_output(target[len(THINK_PRIME) :], AnswerSpec.for_request(example.request))
    return parsed.valid and parsed.scores == tuple(float(s) for s in scores)


@dataclass
class _Selection:
    """Steps 3-4: the pairwise and single picks, and what the single step passed over."""

    pair_eligible: list[KeptTrace]
    pairwise: list[KeptTrace]
    single_pool: list[tuple[KeptTrace, str, int]]
    single: list[tuple[KeptTrace, str, int]]
    no_mention: int


def _select(kept: list[KeptTrace], config: CurateConfig, count: TokenCounter) -> _Selection:
    n_single, n_pairwise = config.budget()
    # Step 3: pairwise, the longest above the threshold.
    pair_eligible = [k for k in kept if k.reasoning_tokens > config.pairwise_min_tokens]
    pairwise = sorted(pair_eligible, key=lambda k: (-k.reasoning_tokens, k.index))[:n_pairwise]
    taken = {k.item.question_id for k in pairwise}
    # Step 4: single, from the rest.
    no_mention = 0
    single_pool: list[tuple[KeptTrace, str, int]] = []
    for k in kept:
        if k.item.question_id in taken:
            continue
        part = assistant1_reasoning(k.reasoning, config.cut, config.assistant2_pattern)
        if part is None:
            no_mention += 1
            continue
        n = count(part)
        if n > config.single_min_tokens:
            single_pool.append((k, part, n))
    if config.single_pick == "longest":
        single = sorted(single_pool, key=lambda x: (-x[2], x[0].index))[:n_single]
    else:
        pick = random.Random(config.seed)
        single = pick.sample(single_pool, min(n_single, len(single_pool)))
    return _Selection(pair_eligible, pairwise, single_pool, single, no_mention)


@dataclass
class _Built:
    """Steps 5-6: the examples in corpus order, with the scale mix and what was dropped."""

    chosen: list[tuple[int, TrainingExample, dict[str, Any]]]
    mix: dict[str, dict[str, int]]
    kept_to_avoid_tie: int
    not_parsed_back: int


def _build(sel: _Selection, config: CurateConfig) -> _Built:
    built = _Built([], {f: {"1-10": 0, "1-5": 0} for f in ("pairwise", "single")}, 0, 0)
    plan = [(k, "pairwise", k.reasoning, list(k.scores), k.reasoning_tokens) for k in sel.pairwise]
    plan += [(k, "single", part, [k.scores[0]], n) for k, part, n in sel.single]
    for k, fmt, reasoning, scores, n_reason in plan:
        scale = SCALE_1_10
        if _scale_for(config, fmt, k.item.question_id):
            small = [rescale_score(s) for s in scores]
            if fmt == "pairwise" and (small[0] == small[1]) != (scores[0] == scores[1]):
                built.kept_to_avoid_tie += 1
            else:
                scale, scores = SCALE_1_5, small
        example = _example(k, fmt, reasoning, scores, scale)
        if not _parses_back(example, scores):
            built.not_parsed_back += 1
            continue
        built.mix[fmt][str(scale)] += 1
        meta = {
            "question_id": k.item.question_id,
            "seed": k.trace.seed,
            "format": fmt,
            "scale": str(scale),
            "scores": scores,
            "reference": list(k.scores),
            "trace_tokens": k.n_tokens,
            "reasoning_tokens": n_reason,
        }
        built.chosen.append((k.index, example, meta))
    built.chosen.sort(key=lambda c: (c[0], c[2]["format"]))
    return built


def _stats(
    corpus_stats: dict[str, Any],
    filter_stats: dict[str, Any],
    n_kept: int,
    sel: _Selection,
    built: _Built,
    config: CurateConfig,
    count: TokenCounter,
) -> dict[str, Any]:
    n_single, n_pairwise = config.budget()
    return {
        "corpus": corpus_stats,
        "filter": filter_stats,
        "selection": {
            "pairwise": {
                "requested": n_pairwise,
                "min_tokens": config.pairwise_min_tokens,
                "eligible": len(sel.pair_eligible),
                "selected": len(sel.pairwise),
                "shortfall": n_pairwise - len(sel.pairwise),
            },
            "single": {
                "requested": n_single,
                "min_tokens": config.single_min_tokens,
                "candidates": n_kept - len(sel.pairwise),
                "no_assistant2_mention": sel.no_mention,
                "eligible": len(sel.single_pool),
                "selected": len(sel.single),
                "shortfall": n_single - len(sel.single),
                "pick": config.single_pick,
                "cut": config.cut,
            },
            "not_parsed_back": built.not_parsed_back,
        },
        "scale_mix": {**built.mix, "pairwise_kept_1-10_to_avoid_tie": built.kept_to_avoid_tie},
        "lengths": {
            **filter_stats.pop("lengths"),
            "pairwise_reasoning_tokens": length_summary([k.reasoning_tokens for k in sel.pairwise]),
            "single_reasoning_tokens": length_summary([n for _, _, n in sel.single]),
        },
        "output": {
            "rows": len(built.chosen),
            "answer_first": config.answer_first,
            "token_counter": count.name,
        },
        "config": asdict(config),
    }


def _nothing_selected(n_items: int, stats: dict[str, Any], config: CurateConfig) -> InputError:
    f, s = stats["filter"], stats["selection"]
    return InputError(
        f"no training example selected: {n_items} corpus items, {f['traces']} traces, "
        f"{f['correct']} correct ({f['invalid_total']} unparseable, {f['score_mismatch']} "
        f"with scores other than the reference, {f['markup_in_reasoning']} with markup), "
        f"{f['prompts_kept']} prompts kept; {s['pairwise']['eligible']} have more than "
        f"{config.pairwise_min_tokens} reasoning tokens (pairwise), {s['single']['eligible']} "
        f"more than {config.single_min_tokens} Assistant-1 tokens (single; "
        f"{s['single']['no_assistant2_mention']} never mention Assistant 2); token counter: "
        f"{stats['output']['token_counter']}"
    )


def curate(
    corpus: Corpus | Sequence[CorpusItem],
    traces: Sequence[Trace],
    config: CurateConfig = CurateConfig(),
    count: TokenCounter | None = None,
) -> CurateResult:
    """Run steps 1-6 and return the training rows, their examples and the stats report.
    Raises :class:`~flexjudge.errors.InputError` with the counts when nothing is selected."""
    counter: TokenCounter = count or WhitespaceCounter()
    items = corpus.items if isinstance(corpus, Corpus) else list(corpus)
    kept, filter_stats = quality_filter(items, traces, counter)
    sel = _select(kept, config, counter)
    built = _build(sel, config)
    corpus_stats = corpus.stats() if isinstance(corpus, Corpus) else {"items": len(items)}
    stats = _stats(corpus_stats, filter_stats, len(kept), sel, built, config, counter)
    if not built.chosen:
        raise _nothing_selected(len(items), stats, config)
    rows = []
    for _, example, meta in built.chosen:
        row = to_prompt_completion(example, answer_first=config.answer_first)
        row["meta"] = meta
        rows.append(row)
    return CurateResult(rows, [e for _, e, _ in built.chosen], stats)


def write_result(result: CurateResult, rows_path: str | Path, stats_path: str | Path) -> None:
    """Write the training rows (JSONL, ``flexjudge train --data``) and the stats (JSON)."""
    write_rows(rows_path, result.rows)
    atomic_write_text(stats_path, json.dumps(result.stats, indent=2, ensure_ascii=False) + "\n")
