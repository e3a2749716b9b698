"""The one path: request -> prompt(s) -> engine -> parser -> votes -> verdict.

Everything that judges (the Python API, ``flexjudge run``, the demo, benchmarks, training
evaluation) goes through :func:`judge_stream`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice

from flexjudge.engines.base import ChatRequest, Completion, Engine, SamplingParams
from flexjudge.errors import FlexJudgeError, ModelLoadError, ServerUnavailable
from flexjudge.judge.adaptive import round_sizes, settled
from flexjudge.judge.config import JudgeConfig
from flexjudge.judge.voting import LABEL_WINNERS, aggregate
from flexjudge.parsing import AnswerSpec, Parsed, parse_output
from flexjudge.prompts import build_chat, protocol
from flexjudge.prompts.protocol import ANSWER_CLOSE, THINK_CLOSE
from flexjudge.request import JudgeRequest, Task, letter
from flexjudge.verdict import Verdict, Vote

log = logging.getLogger(__name__)


def orders_for(request: JudgeRequest, config: JudgeConfig, index: int) -> list[list[int]]:
    """Presentation orders of one request's responses."""
    n = len(request.responses)
    identity = list(range(n))
    if n == 1 or config.order == "fixed":
        return [identity]
    if config.order == "swap":
        return [identity, identity[::-1]]
    # A string seed is hashed deterministically by random.Random (unlike hash()).
    rng = random.Random(f"{config.seed}:{request.id if request.id is not None else index}")
    shuffled = identity[:]
    rng.shuffle(shuffled)
    return [shuffled]


@dataclass
class _View:
    """One presentation order of one request: its chat and where its votes go."""

    item: int
    order: list[int]
    chat: ChatRequest
    spec: AnswerSpec


Item = JudgeRequest | Verdict


def judge_stream(items: Iterable[Item], engine: Engine, config: JudgeConfig) -> Iterator[Verdict]:
    """Judge requests in chunks of ``config.batch_size``, yielding verdicts in input order.

    A :class:`Verdict` in the input (an error record made upstream) passes through in place,
    so a batch keeps its order and loses nothing.
    """
    it = iter(items)
    index = 0
    while True:
        chunk = list(islice(it, config.batch_size))
        if not chunk:
            return
        yield from _judge_chunk(chunk, engine, config, index)
        index += len(chunk)


def _judge_chunk(
    chunk: Sequence[Item], engine: Engine, config: JudgeConfig, start: int
) -> list[Verdict]:
    results: list[Verdict | None] = [None] * len(chunk)
    views: list[_View] = []
    for i, item in enumerate(chunk):
        if isinstance(item, Verdict):
            results[i] = item
            continue
        try:
            item_views = [
                _View(
                    i,
                    order,
                    build_chat(
                        item, order, prime_think=config.prime_think, native=engine.modalities
                    ),
                    AnswerSpec.for_request(item),
                )
                for order in orders_for(item, config, start + i)
            ]
            for v in item_views:
                engine.check(v.chat)
        except FlexJudgeError as exc:
            results[i] = Verdict.failed(item.id, item.task.value, str(exc))
            continue
        views.extend(item_views)

    if config.adaptive:
        completions = _generate_adaptive(views, chunk, engine, config)
    else:
        completions = _generate_isolated(views, engine, config)
    votes: dict[int, list[Vote]] = {}
    for view, comps in zip(views, completions):
        if isinstance(comps, Exception):
            req = chunk[view.item]
            assert isinstance(req, JudgeRequest)
            results[view.item] = Verdict.failed(req.id, req.task.value, f"engine failed: {comps}")
            continue
        votes.setdefault(view.item, []).extend(_view_votes(view, comps))
    for i, item in enumerate(chunk):
        if results[i] is None and isinstance(item, JudgeRequest):
            results[i] = aggregate(
                votes.get(i, []),
                item.task,
                tie=item.tie,
                score_reduce=config.score_reduce,
                request_id=item.id,
            )
    return [r for r in results if r is not None]


def _view_votes(view: _View, completions: Sequence[Completion]) -> list[Vote]:
    primed = bool(view.chat.assistant_prefix)
    return [
        make_vote(parse_output(c.text, view.spec, primed=primed), view.order, view.spec, c)
        for c in completions
    ]


def _generate_adaptive(
    views: list[_View], chunk: Sequence[Item], engine: Engine, config: JudgeConfig
) -> list[list[Completion] | Exception]:
    """Adaptive voting (:mod:`flexjudge.judge.adaptive`): each round draws the next votes of
    every view of the items still open, in one batch and under the round's own seed (so each
    round is its own store entry, and a resumed run draws the same rounds); an item closes
    once :func:`~flexjudge.judge.adaptive.settled`, or on an engine failure. Completions come
    back per view in round order, as a run that never stopped would list them."""
    drawn: list[list[Completion]] = [[] for _ in views]
    failed: dict[int, Exception] = {}
    by_item: dict[int, list[int]] = {}
    for k, v in enumerate(views):
        by_item.setdefault(v.item, []).append(k)
    open_items, per_view = sorted(by_item), 0
    for r, size in enumerate(round_sizes(config.votes)):
        todo = [k for i in open_items for k in by_item[i]]
        if not todo:
            break
        step = replace(config, votes=size, seed=config.seed + r, adaptive=False)
        for k, comps in zip(todo, _generate_isolated([views[k] for k in todo], engine, step)):
            if isinstance(comps, Exception):
                failed[k] = comps
            else:
                drawn[k].extend(comps)
        per_view += size
        still = []
        for i in open_items:
            if any(k in failed for k in by_item[i]):
                continue
            req = chunk[i]
            assert isinstance(req, JudgeRequest)
            votes = [v for k in by_item[i] for v in _view_votes(views[k], drawn[k])]
            if not settled(
                votes,
                req.task,
                remaining=(config.votes - per_view) * len(by_item[i]),
                scale=req.scale,
                score_reduce=config.score_reduce,
                tolerance=config.adaptive_tolerance,
            ):
                still.append(i)
        open_items = still
    return [failed.get(k, comps) for k, comps in enumerate(drawn)]


def _generate_isolated(
    views: list[_View], engine: Engine, config: JudgeConfig
) -> list[list[Completion] | Exception]:
    """Generate for all views; if a batch fails, retry its views one by one so that one bad
    request costs only its own verdict."""
    out: list[list[Completion] | Exception] = [[] for _ in views]
    groups: dict[int, list[int]] = {}
    for k, v in enumerate(views):
        groups.setdefault(v.spec.count, []).append(k)
    for count, idxs in groups.items():
        chats = [views[k].chat for k in idxs]
        try:
            results = _generate(chats, engine, config, count)
            for k, r in zip(idxs, results):
                out[k] = r
        except (ModelLoadError, ServerUnavailable) as exc:
            # The engine cannot serve anything now (weights that do not load, a dead server):
            # retrying each request alone would only repeat the failure, slowly.
            for k in idxs:
                out[k] = exc
            continue
        except FlexJudgeError as exc:
            if len(idxs) == 1:
                out[idxs[0]] = exc
                continue
            log.warning("batch of %d failed (%s); retrying one by one", len(idxs), exc)
            for k in idxs:
                try:
                    out[k] = _generate([views[k].chat], engine, config, count)[0]
                except (ModelLoadError, ServerUnavailable) as single:
                    for rest in idxs[idxs.index(k) :]:
                        out[rest] = single
                    break
                except FlexJudgeError as single:
                    out[k] = single
    return out


def _params(config: JudgeConfig, **over: object) -> SamplingParams:
    base = SamplingParams(
        n=config.votes,
        temperature=config.temperature,
        top_p=config.top_p,
        max_new_tokens=config.max_new_tokens,
        seed=config.seed,
        stop=(ANSWER_CLOSE,),
        stop_count=1,
        stop_after=THINK_CLOSE,
    )
    return replace(base, **over)  # type: ignore[arg-type]


def _generate(
    chats: list[ChatRequest], engine: Engine, config: JudgeConfig, answer_count: int
) -> list[list[Completion]]:
    if config.budget_forcing == 0:
        return engine.generate(chats, _params(config, stop_count=answer_count))
    return _generate_forced(chats, engine, config, answer_count)


def _generate_forced(
    chats: list[ChatRequest], engine: Engine, config: JudgeConfig, answer_count: int
) -> list[list[Completion]]:
    """Budget forcing (s1): stop at ``</think>``, replace it with "Wait", continue; repeat,
    then let the model finish. Each vote continues on its own path."""
    close = THINK_CLOSE
    first = engine.generate(chats, _params(config, stop=(close,), stop_after=None))
    # state per (chat, vote): accumulated completion text and tokens used
    texts = [[c.text for c in comps] for comps in first]
    used = [[c.n_tokens for c in comps] for comps in first]
    reasons = [[c.finish_reason for c in comps] for comps in first]
    for r in range(config.budget_forcing + 1):
        final = r == config.budget_forcing
        todo = [
            (i, j)
            for i in range(len(chats))
            for j in range(config.votes)
            if texts[i][j].endswith(close) and used[i][j] < config.max_new_tokens
        ]
        if not todo:
            break
        if not final:
            for i, j in todo:
                texts[i][j] = texts[i][j][: -len(close)] + protocol.BUDGET_FORCING_CUE
        reqs = [chats[i].continued(texts[i][j]) for i, j in todo]
        # One call for all continuing votes; the token budget left is that of the longest.
        left = max(1, config.max_new_tokens - max(used[i][j] for i, j in todo))
        more = engine.generate(
            reqs,
            _params(
                config,
                n=1,
                stop=(ANSWER_CLOSE,) if final else (close,),
                stop_after=THINK_CLOSE if final else None,
                stop_count=answer_count if final else 1,
                max_new_tokens=left,
                seed=config.seed + r + 1,
            ),
        )
        for (i, j), comps in zip(todo, more):
            texts[i][j] += comps[0].text
            used[i][j] += comps[0].n_tokens
            reasons[i][j] = comps[0].finish_reason
    return [
        [Completion(texts[i][j], reasons[i][j], used[i][j]) for j in range(config.votes)]
        for i in range(len(chats))
    ]


def make_vote(parsed: Parsed, order: list[int], spec: AnswerSpec, completion: Completion) -> Vote:
    """Map a parse made in shown order back to the caller's order."""
    vote = Vote(
        order=order,
        text=completion.text,
        valid=parsed.valid,
        reason=parsed.reason,
        error=parsed.error,
        reasoning=parsed.reasoning,
        finish_reason=completion.finish_reason,
    )
    if not parsed.valid:
        return vote
    if parsed.scores is not None:
        scores = [0.0] * len(order)
        for shown, idx in enumerate(order):
            scores[idx] = parsed.scores[shown]
        vote.scores = scores
        if spec.task is Task.PAIRWISE:
            vote.winner = "A" if scores[0] > scores[1] else "B" if scores[1] > scores[0] else "tie"
        elif spec.task is Task.BATCH:
            ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
            vote.ranking = [letter(i) for i in ranked]
    if parsed.label is not None:
        label = parsed.label
        if order == [1, 0]:  # the model saw B as "A": flip directional verdicts
            label = {"[[A>B]]": "[[B>A]]", "[[B>A]]": "[[A>B]]"}.get(label, label)
        vote.label = label
        vote.winner = LABEL_WINNERS[label]  # type: ignore[assignment]
    return vote
