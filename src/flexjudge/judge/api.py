"""The Python API: ``Judge("jongwooko/Flex-VL-7B").compare(q, a, b)``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from flexjudge.engines.base import Engine
from flexjudge.engines.registry import create_engine
from flexjudge.errors import InputError
from flexjudge.judge.pipeline import JudgeConfig, Order, error_verdict, judge_stream
from flexjudge.judge.voting import ScoreReduce
from flexjudge.prompts import build_chat
from flexjudge.request import Candidate, JudgeRequest, Scale, Task
from flexjudge.verdict import Verdict

DEFAULT_MODEL = "jongwooko/Flex-VL-7B"

ResponseLike = str | Candidate


class Judge:
    """A Flex-Judge evaluator.

    ``model`` is a hub id or a local checkpoint folder (``engine="transformers"``, the
    default), or ignored when ``engine`` is an :class:`~flexjudge.engines.Engine` instance.
    Single-item methods build one request and delegate to :meth:`run`; bad input raises
    :class:`~flexjudge.errors.InputError`. :meth:`run` never raises for one bad item: it
    yields an ``"error"`` verdict for it and goes on.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        engine: str | Engine = "transformers",
        votes: int = 1,
        order: Order = "fixed",
        temperature: float = 0.6,
        top_p: float = 0.95,
        max_new_tokens: int = 4096,
        seed: int = 0,
        budget_forcing: int = 0,
        score_reduce: ScoreReduce = "mean",
        batch_size: int = 8,
        **engine_options: Any,
    ) -> None:
        self.config = JudgeConfig(
            votes=votes,
            order=order,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            seed=seed,
            budget_forcing=budget_forcing,
            score_reduce=score_reduce,
            batch_size=batch_size,
        )
        self.engine = (
            engine if isinstance(engine, Engine) else create_engine(engine, model, **engine_options)
        )

    # -- single items -----------------------------------------------------------------------
    def score(
        self,
        instruction: str,
        response: ResponseLike,
        *,
        scale: str | Scale = "1-10",
        **fields: Any,
    ) -> Verdict:
        return self._one(
            task=Task.SCORE, instruction=instruction, responses=[response], scale=scale, **fields
        )

    def compare(
        self,
        instruction: str,
        a: ResponseLike,
        b: ResponseLike,
        *,
        tie: bool = True,
        scale: str | Scale = "1-10",
        **fields: Any,
    ) -> Verdict:
        return self._one(
            task=Task.PAIRWISE,
            instruction=instruction,
            responses=[a, b],
            tie=tie,
            scale=scale,
            **fields,
        )

    def label(self, instruction: str, a: ResponseLike, b: ResponseLike, **fields: Any) -> Verdict:
        """Four-way verdict: ``[[A>B]]``, ``[[B>A]]``, ``[[A=B=Good]]`` or ``[[A=B=Bad]]``."""
        return self._one(task=Task.LABEL, instruction=instruction, responses=[a, b], **fields)

    def rank(
        self,
        instruction: str,
        responses: Sequence[ResponseLike],
        *,
        scale: str | Scale = "1-10",
        **fields: Any,
    ) -> Verdict:
        return self._one(
            task=Task.BATCH,
            instruction=instruction,
            responses=list(responses),
            scale=scale,
            **fields,
        )

    # -- batches ----------------------------------------------------------------------------
    def run(
        self, requests: Iterable[JudgeRequest | Verdict | Mapping[str, Any]]
    ) -> Iterator[Verdict]:
        """Judge many requests, streaming verdicts in input order. A dict that is not a valid
        request, or a :class:`Verdict` already made for a bad input line, is passed through
        as an ``"error"`` verdict in its place."""
        return judge_stream((self._coerce(r) for r in requests), self.engine, self.config)

    def prompt(self, request: JudgeRequest | Mapping[str, Any]) -> str:
        """The exact text of the first presentation order's prompt, as the model sees it."""
        req = request if isinstance(request, JudgeRequest) else JudgeRequest.build(**request)
        return self.engine.render(build_chat(req, prime_think=self.config.prime_think))

    def close(self) -> None:
        self.engine.close()

    def _coerce(self, r: JudgeRequest | Verdict | Mapping[str, Any]) -> JudgeRequest | Verdict:
        if isinstance(r, (JudgeRequest, Verdict)):
            return r
        try:
            return JudgeRequest.build(**r)
        except InputError as exc:
            return error_verdict(
                str(r.get("id")) if r.get("id") is not None else None,
                str(r.get("task", "")),
                str(exc),
            )

    def _one(self, **fields: Any) -> Verdict:
        return self.judge(JudgeRequest.build(**fields))

    def judge(self, request: JudgeRequest) -> Verdict:
        """Judge one request; unusable media raise :class:`~flexjudge.errors.MediaError`."""
        check = getattr(self.engine, "check", None)
        if check is not None:  # raise media problems here rather than return an error verdict
            check(build_chat(request))
        return next(judge_stream([request], self.engine, self.config))
