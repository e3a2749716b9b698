"""An engine wrapper that answers from the result store and generates only what is missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flexjudge.engines.base import ChatRequest, Completion, Engine, EngineInfo, SamplingParams
from flexjudge.errors import EngineError
from flexjudge.store.db import Entry, Store
from flexjudge.store.keys import MediaHasher, describe, engine_identity, keyed


@dataclass
class CacheStats:
    """Counts over the life of a :class:`CachedEngine`, in chat requests (one per
    presentation order of a judge request), not in votes."""

    hits: int = 0
    """Requests answered from the store."""
    generated: int = 0
    """Requests sent to the wrapped engine (identical requests of one call count once)."""
    engine_calls: int = 0
    """Calls of the wrapped engine's ``generate``."""


class CachedEngine(Engine):
    """``engine``, with its completions cached in ``store``.

    Rules:

    * :meth:`generate` looks every request up by key (:mod:`flexjudge.store.keys`) and sends
      the missing ones to ``engine`` in *one* call, then stores them in one transaction before
      returning. Identical requests within one call are generated once and share completions.
    * ``read=False`` (``--no-cache``) skips the lookup, generates everything and overwrites the
      stored entries with the new completions.
    * A failed generation stores nothing; the error propagates unchanged.
    * ``render``, ``check``, ``info``, ``modalities`` and ``close`` are the wrapped engine's.
      ``close`` does not close ``store``: its owner does.
    * Completions of a request may depend on its batch neighbours (engines sample a batch from
      one seeded generator), so a resumed run reproduces an uninterrupted one exactly only
      where batches are the same, e.g. with ``batch_size=1``. Either way every stored key is
      generated once and reused as is.
    """

    def __init__(self, engine: Engine, store: Store, *, read: bool = True) -> None:
        self.engine = engine
        self.store = store
        self.read = read
        self.stats = CacheStats()
        self._identity: dict[str, Any] | None = None
        self._media = MediaHasher()

    # -- delegation ------------------------------------------------------------------------
    @property
    def modalities(self) -> frozenset[str]:  # type: ignore[override]
        return self.engine.modalities

    @property
    def info(self) -> EngineInfo:
        return self.engine.info

    def render(self, request: ChatRequest) -> str:
        return self.engine.render(request)

    def check(self, request: ChatRequest) -> None:
        self.engine.check(request)

    def close(self) -> None:
        self.engine.close()

    # -- caching ---------------------------------------------------------------------------
    @property
    def identity(self) -> dict[str, Any]:
        """The engine part of every key (computed once: it may fingerprint a model folder)."""
        if self._identity is None:
            self._identity = engine_identity(self.engine)
        return self._identity

    def keys(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[tuple[str, str]]:
        """``(key, canonical description)`` of each request."""
        return keyed(describe(r, params, self.identity, self._media) for r in requests)

    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        if not requests:
            return []
        keyed_requests = self.keys(requests, params)
        keys = [k for k, _ in keyed_requests]
        found = self.store.get(keys, params.n) if self.read else {}
        todo: dict[str, int] = {}  # missing key -> index of its first request
        for i, key in enumerate(keys):
            if key not in found and key not in todo:
                todo[key] = i
        self.stats.hits += sum(1 for k in keys if k in found)
        if todo:
            idxs = list(todo.values())
            self.stats.engine_calls += 1
            out = self.engine.generate([requests[i] for i in idxs], params)
            if len(out) != len(idxs) or any(len(c) != params.n for c in out):
                raise EngineError(
                    f"{type(self.engine).__name__} returned {[len(c) for c in out]} completions "
                    f"for {len(idxs)} requests with n={params.n}"
                )
            info = self.engine.info
            self.store.put(
                [
                    Entry(keys[i], keyed_requests[i][1], info.engine, info.model, comps)
                    for i, comps in zip(idxs, out)
                ],
                replace=not self.read,
            )
            self.stats.generated += len(idxs)
            for i, comps in zip(idxs, out):
                found[keys[i]] = list(comps)
        return [list(found[k]) for k in keys]
