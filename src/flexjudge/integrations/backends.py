"""Where an adapter's judge runs: behind a ``flexjudge serve`` (:class:`RemoteBackend`), on a
thread of this process (:class:`ThreadBackend`), or in the caller's own thread
(:class:`DirectBackend`). Each turns request dicts (the ``flexjudge run`` schema) into one
verdict per request, in order; a request that fails validation gets its ``"error"`` verdict
in place and the others are judged."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from flexjudge.errors import ConfigError, InputError
from flexjudge.integrations._media import inline_media
from flexjudge.integrations.client import JudgeClient
from flexjudge.judge.api import Judge
from flexjudge.judge.config import JudgeConfig
from flexjudge.request import JudgeRequest
from flexjudge.run.batcher import Batcher
from flexjudge.run.judge_spec import JudgeSpec
from flexjudge.verdict import Verdict


class Backend(Protocol):
    def verdicts(self, requests: Sequence[Mapping[str, Any]]) -> list[Verdict]: ...

    async def averdicts(self, requests: Sequence[Mapping[str, Any]]) -> list[Verdict]: ...

    def close(self) -> None: ...


def build_requests(requests: Sequence[Mapping[str, Any]]) -> list[JudgeRequest | Verdict]:
    """Each dict validated into a request, or its error verdict."""
    out: list[JudgeRequest | Verdict] = []
    for i, fields in enumerate(requests):
        try:
            out.append(JudgeRequest.build(**fields))
        except InputError as exc:
            rid = fields.get("id", i)
            keep = rid if isinstance(rid, (str, int, float)) and not isinstance(rid, bool) else i
            out.append(Verdict.failed(keep, str(fields.get("task", "")), str(exc)))
    return out


class RemoteBackend:
    """A running ``flexjudge serve``. Media are sent inline unless ``inline_media=False`` (then
    paths travel as they are and must lie under the server's ``--media-root``). Requests go in
    bodies of at most ``chunk`` (the server's ``--max-items`` default), concurrently from the
    async path."""

    def __init__(self, client: JudgeClient, *, inline: bool = True, chunk: int = 64) -> None:
        self.client = client
        self.inline = inline
        self.chunk = chunk

    def _bodies(self, requests: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
        body = [inline_media(r) if self.inline else dict(r) for r in requests]
        return [body[i : i + self.chunk] for i in range(0, len(body), self.chunk)]

    def verdicts(self, requests: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        return [v for body in self._bodies(requests) for v in self.client.judge(body)]

    async def averdicts(self, requests: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        parts = await asyncio.gather(*(self.client.ajudge(b) for b in self._bodies(requests)))
        return [v for part in parts for v in part]

    def close(self) -> None:
        self.client.close()


class ThreadBackend:
    """A judge of this process on a thread of its own, built there (the store's connection is
    that thread's); concurrent callers are coalesced into batches
    (:class:`~flexjudge.run.batcher.Batcher`). Thread-safe and loop-safe."""

    def __init__(self, spec: JudgeSpec, *, max_queue: int = 1_000_000) -> None:
        self.batcher = Batcher(
            spec.build, max_batch=spec.config.batch_size, max_queue=max_queue
        ).start()

    def _split(
        self, requests: Sequence[Mapping[str, Any]]
    ) -> tuple[list[JudgeRequest | Verdict], list[JudgeRequest]]:
        built = build_requests(requests)
        return built, [r for r in built if isinstance(r, JudgeRequest)]

    @staticmethod
    def _merge(built: list[JudgeRequest | Verdict], judged: list[Verdict]) -> list[Verdict]:
        it = iter(judged)
        return [next(it) if isinstance(r, JudgeRequest) else r for r in built]

    def verdicts(self, requests: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        built, todo = self._split(requests)
        return self._merge(built, self.batcher.judge(todo) if todo else [])

    async def averdicts(self, requests: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        built, todo = self._split(requests)
        futures = self.batcher.submit(todo) if todo else []
        judged = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        return self._merge(built, list(judged))

    def close(self) -> None:
        self.batcher.stop()


class DirectBackend:
    """A :class:`~flexjudge.Judge` the caller built, called in the caller's thread (a judge
    with a store may only be used from the thread that opened it, so there is no async
    path: use a :class:`ThreadBackend`, ``model=...``, for that)."""

    def __init__(self, judge: Judge) -> None:
        self.judge = judge

    def verdicts(self, requests: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        return list(self.judge.run(build_requests(requests)))

    async def averdicts(self, requests: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        raise ConfigError("a judge passed as judge= is synchronous; pass model=... or url=...")

    def close(self) -> None:
        """The judge is the caller's to close."""


def make_backend(
    *,
    url: str | None = None,
    model: str | None = None,
    judge: Judge | None = None,
    api_key_env: str | None = None,
    timeout: float = 180.0,
    inline_media: bool = True,
    engine: str = "transformers",
    store: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Backend:
    """The backend that the arguments name: exactly one of ``url``, ``model``, ``judge``.
    ``options`` are the judge's settings and the engine's options (as ``Judge`` takes them)."""
    given = [
        name for name, v in (("url", url), ("model", model), ("judge", judge)) if v is not None
    ]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one of url= (a running flexjudge serve), model= (a judge in this "
            f"process) or judge= (a Judge you built); got {', '.join(given) or 'none'}"
        )
    if url is not None:
        return RemoteBackend(
            JudgeClient(url, api_key_env=api_key_env, timeout=timeout), inline=inline_media
        )
    if judge is not None:
        return DirectBackend(judge)
    fields = set(JudgeConfig.__dataclass_fields__)
    settings = {k: options.pop(k) for k in list(options) if k in fields}
    spec = JudgeSpec(str(model), engine, options, JudgeConfig(**settings), store)
    return ThreadBackend(spec)
