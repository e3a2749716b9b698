"""The Python API: ``Judge("jongwooko/Flex-VL-7B").compare(q, a, b)``."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flexjudge.engines.base import Engine
from flexjudge.engines.registry import create_engine
from flexjudge.errors import ConfigError, InputError
from flexjudge.judge.config import JudgeConfig
from flexjudge.judge.pipeline import judge_stream
from flexjudge.prompts import build_chat
from flexjudge.request import Candidate, JudgeRequest, Scale, Task
from flexjudge.store import CachedEngine, CacheStats, Store
from flexjudge.verdict import Verdict

if TYPE_CHECKING:
    from flexjudge.judge.selection import Selection

DEFAULT_MODEL = "jongwooko/Flex-VL-7B"

ResponseLike = str | Candidate | Mapping[str, Any]
_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(JudgeConfig))


class Judge:
    """A Flex-Judge evaluator.

    ``model`` is a hub id or a local checkpoint folder (``engine="transformers"``, the
    default; also ``"vllm"`` or ``"openai"``), or ignored when ``engine`` is an
    :class:`~flexjudge.engines.Engine` instance. Keyword options are the
    :class:`~flexjudge.judge.JudgeConfig` settings (``votes``, ``order``, ``temperature``...)
    and the engine's own options (``device``, ``base_url``...; see
    :func:`flexjudge.engines.engine_options`); ``config`` gives the settings as one object.

    ``store`` (a path or an open :class:`~flexjudge.store.Store`) caches every engine
    completion: asking again answers from it, and a killed run resumes without generating
    anything twice. ``cache=False`` regenerates everything and still writes the store.

    Single-item methods build one request and judge it; bad input raises
    :class:`~flexjudge.errors.InputError`. :meth:`run` never raises for one bad item: it yields
    an ``"error"`` verdict for it and goes on. Every method has an ``a``-prefixed coroutine
    twin for async code (``await judge.acompare(...)``).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        engine: str | Engine = "transformers",
        store: str | os.PathLike[str] | Store | None = None,
        cache: bool = True,
        config: JudgeConfig | None = None,
        **options: Any,
    ) -> None:
        settings = {k: options.pop(k) for k in list(options) if k in _CONFIG_FIELDS}
        self.config = dataclasses.replace(config or JudgeConfig(), **settings)
        if isinstance(engine, Engine):
            if options:
                raise ConfigError(
                    f"engine options {sorted(options)} were given with an engine instance: "
                    "set them on the engine instead"
                )
            base = engine
        else:
            base = create_engine(engine, model, **options)
        self._owns_store = store is not None and not isinstance(store, Store)
        try:
            self.store: Store | None = (
                store if isinstance(store, Store) or store is None else Store(store, lock=True)
            )
        except BaseException:
            base.close()
            raise
        self.base_engine = base
        self.engine: Engine = (
            CachedEngine(base, self.store, read=cache) if self.store is not None else base
        )
        self._owns_engine = True

    # -- configuration ---------------------------------------------------------------------
    def with_config(self, **changes: Any) -> Judge:
        """A judge with some settings changed, sharing this one's engine and store (closing
        it does not close them)."""
        unknown = sorted(set(changes) - _CONFIG_FIELDS)
        if unknown:
            raise ConfigError(
                f"unknown judge settings {unknown}: use {', '.join(sorted(_CONFIG_FIELDS))}"
            )
        other = copy.copy(self)
        other.config = dataclasses.replace(self.config, **changes)
        other._owns_store = other._owns_engine = False  # close() leaves them to this judge
        return other

    def with_store(self, store: str | os.PathLike[str], *, cache: bool = True) -> Judge:
        """A judge sharing this one's engine, with its completions cached in ``store`` (a
        path, opened and locked here, and closed by the new judge's :meth:`close`)."""
        other = copy.copy(self)
        opened = Store(store, lock=True)
        other.store = opened
        other.engine = CachedEngine(self.base_engine, opened, read=cache)
        other._owns_store, other._owns_engine = True, False
        return other

    @property
    def cache_stats(self) -> CacheStats | None:
        """Completions answered from the store and generated, when there is a store."""
        return self.engine.stats if isinstance(self.engine, CachedEngine) else None

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
        # The request schema refuses a string or None where the list belongs (a string used
        # to be ranked character by character).
        return self._one(
            task=Task.BATCH, instruction=instruction, responses=responses, scale=scale, **fields
        )

    def best_of(
        self,
        instruction: str,
        candidates: Sequence[ResponseLike],
        *,
        method: str = "score",
        seed: int = 0,
        **fields: Any,
    ) -> Selection:
        """Choose one of ``candidates``: ``method`` ``"score"`` (the top single score, the
        paper's way), ``"rank"`` (one batch ranking) or ``"pairwise"`` (a round robin in both
        orders, Copeland winner). Ties at the top are broken at random with ``seed``; a
        candidate without a valid verdict is never chosen. Returns a
        :class:`~flexjudge.judge.selection.Selection` (``index``, ``status``, ``values``...).
        ``fields``: media (``images``...) and ``criteria``, ``reference``, ``scale``."""
        from flexjudge.judge.selection import best_of

        return best_of(self, instruction, candidates, method=method, seed=seed, **fields)

    # -- batches ----------------------------------------------------------------------------
    def run(
        self, requests: Iterable[JudgeRequest | Verdict | Mapping[str, Any]]
    ) -> Iterator[Verdict]:
        """Judge many requests, streaming verdicts in input order. A dict that is not a valid
        request (or anything else that is not a request), or a :class:`Verdict` already made
        for a bad input line, is passed through as an ``"error"`` verdict in its place."""
        return judge_stream(
            (self._coerce(i, r) for i, r in enumerate(requests)), self.engine, self.config
        )

    def prompt(self, request: JudgeRequest | Mapping[str, Any]) -> str:
        """The exact text of the first presentation order's prompt, as the model sees it."""
        req = request if isinstance(request, JudgeRequest) else JudgeRequest.build(**request)
        chat = build_chat(req, prime_think=self.config.prime_think, native=self.engine.modalities)
        return self.engine.render(chat)

    def judge(self, request: JudgeRequest) -> Verdict:
        """Judge one request; unusable media raise :class:`~flexjudge.errors.MediaError`."""
        # media problems raise here, named
        self.engine.check(build_chat(request, native=self.engine.modalities))
        return next(judge_stream([request], self.engine, self.config))

    # -- async twins ------------------------------------------------------------------------
    async def ascore(self, *args: Any, **kwargs: Any) -> Verdict:
        return await asyncio.to_thread(self.score, *args, **kwargs)

    async def acompare(self, *args: Any, **kwargs: Any) -> Verdict:
        return await asyncio.to_thread(self.compare, *args, **kwargs)

    async def alabel(self, *args: Any, **kwargs: Any) -> Verdict:
        return await asyncio.to_thread(self.label, *args, **kwargs)

    async def arank(self, *args: Any, **kwargs: Any) -> Verdict:
        return await asyncio.to_thread(self.rank, *args, **kwargs)

    async def arun(
        self, requests: Iterable[JudgeRequest | Verdict | Mapping[str, Any]]
    ) -> list[Verdict]:
        """All verdicts of ``requests``, judged off the event loop."""
        return await asyncio.to_thread(lambda: list(self.run(requests)))

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        """Release what this judge owns: the engine it built, the store it opened."""
        owns_engine, owns_store = self._owns_engine, self._owns_store
        self._owns_engine = self._owns_store = False
        try:
            if owns_engine:
                self.base_engine.close()
        finally:
            if owns_store and self.store is not None:
                self.store.close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _coerce(index: int, r: Any) -> JudgeRequest | Verdict:
        if isinstance(r, (JudgeRequest, Verdict)):
            return r
        if not isinstance(r, Mapping):
            return Verdict.failed(
                None,
                "",
                f"item {index}: expected a request (a JudgeRequest or a dict), got "
                f"{type(r).__name__}",
            )
        try:
            return JudgeRequest.build(**r)
        except InputError as exc:
            rid = r.get("id")
            keep = rid if isinstance(rid, (str, int, float)) and not isinstance(rid, bool) else None
            task = r.get("task")
            return Verdict.failed(keep, task if isinstance(task, str) else "", str(exc))

    def _one(self, **fields: Any) -> Verdict:
        return self.judge(JudgeRequest.build(**fields))
