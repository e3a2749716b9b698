"""The reward server: FastAPI on uvicorn.

FastAPI because pydantic is already the request schema's foundation (``JudgeRequest`` and
``Verdict`` are pydantic models), it runs on Starlette's plain ASGI (so the auth and metrics
layers are small ASGI middleware), and it is what the RL stacks' own servers use (OpenRLHF's
``serve_rm``), so its behaviour under uvicorn is well trodden. Bodies are read as bytes and
parsed by :func:`flexjudge.io.parse_json_line` (UTF-8, no NaN, a depth limit), not by
FastAPI's body models, so that every malformed body gets the same named 400.

Routes: ``POST /v1/judge`` (one request or a list -> a verdict or a list), ``POST
/get_reward`` (OpenRLHF's contract, :mod:`flexjudge.integrations.openrlhf`), ``GET /health``
(live), ``GET /ready`` (weights loaded: 200, else 503), ``GET /metrics`` (Prometheus).
Refusals are in :mod:`.limits`; judging goes through :class:`.batcher.Batcher`, whose judge
has a store, so every completion goes through the store.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from flexjudge.errors import ConfigError, FlexJudgeError
from flexjudge.integrations.openrlhf import query_requests, reward_payload
from flexjudge.redact import redact
from flexjudge.request import JudgeRequest, check_id
from flexjudge.run.batcher import Batcher, BatchObserver, QueueFull, ShuttingDown
from flexjudge.run.judge_spec import JudgeSpec
from flexjudge.serve.auth import AuthMiddleware, BearerKey
from flexjudge.serve.config import ServeConfig
from flexjudge.serve.limits import Refusal, check_counts, parse_body, read_body
from flexjudge.serve.media import MediaBudget, MediaBudgetExceeded, MediaPolicy
from flexjudge.serve.metrics import CONTENT_TYPE_LATEST, MetricsMiddleware, ServerMetrics
from flexjudge.verdict import Verdict

log = logging.getLogger("flexjudge.serve")

ROUTES = frozenset({"/v1/judge", "/get_reward", "/health", "/ready", "/metrics"})


class _Server:
    """What the routes share."""

    def __init__(self, config: ServeConfig, spec: JudgeSpec, api_key: str | None) -> None:
        self.config = config
        self.spec = spec
        self.secrets = [api_key]
        self.metrics = m = ServerMetrics()
        self.spool = tempfile.mkdtemp(prefix="flexjudge-serve-media-")
        try:
            self.media = MediaPolicy(config.media_root, self.spool)
        except BaseException:
            shutil.rmtree(self.spool, ignore_errors=True)
            raise
        observer = BatchObserver(
            on_batch=m.batch_size.observe,
            on_verdict=lambda v: m.verdicts.labels(v.status).inc(),
            on_queue=m.queue_depth.set,
            on_store=self._on_store,
        )
        self.batcher = Batcher(
            lambda: spec.build(m.tokens.inc),
            max_batch=config.max_batch,
            max_wait=config.max_wait_ms / 1000,
            max_queue=config.max_queue,
            observer=observer,
            secrets=self.secrets,
        )

    def _on_store(self, hits: int, generated: int) -> None:
        self.metrics.store_hits.inc(hits)
        self.metrics.store_generated.inc(generated)

    def prepare(self, items: list[Any], budget: MediaBudget) -> list[JudgeRequest | Verdict]:
        """Each item validated into a request (media checked), or its error verdict."""
        return [self.prepare_one(i, item, budget) for i, item in enumerate(items)]

    def prepare_one(self, i: int, item: Any, budget: MediaBudget) -> JudgeRequest | Verdict:
        if not isinstance(item, dict):
            return Verdict.failed(
                None,
                "",
                f"item {i}: expected a judge request (a JSON object), got {type(item).__name__}",
            )
        task = item["task"] if isinstance(item.get("task"), str) else ""
        try:
            rid = check_id(item.get("id"))
        except ValueError as exc:
            return Verdict.failed(None, task, f"item {i}: {exc}")
        fields = {**item, "id": i if rid is None else rid}
        try:
            return JudgeRequest.build(**self.media.resolve(fields, budget))
        except (FlexJudgeError, ValueError, TypeError) as exc:
            return Verdict.failed(fields["id"], task, f"item {i}: {redact(str(exc), self.secrets)}")

    async def judge_body(self, body: Any, started: float, *, votes: bool) -> Any:
        """``POST /v1/judge``: a verdict for a request, a list of them for a list."""
        if isinstance(body, dict):
            items, single = [body], True
        elif isinstance(body, list) and body:
            items, single = body, False
        else:
            raise Refusal(
                400, "bad_body", "send a judge request (a JSON object) or a non-empty list of them"
            )
        cfg = self.config
        check_counts(items, max_items=cfg.max_items, max_responses=cfg.max_responses)
        budget = MediaBudget(cfg.max_media_bytes)
        try:  # off the event loop: media are decoded, hashed and spooled
            prepared = await asyncio.to_thread(self.prepare, items, budget)
        except MediaBudgetExceeded as exc:
            raise Refusal(413, "media_too_large", str(exc)) from None
        payload = [v.to_json(votes=votes) for v in await self.judge(prepared, started)]
        return payload[0] if single else payload

    async def reward_body(self, body: Any, started: float) -> dict[str, Any]:
        """``POST /get_reward``: OpenRLHF's numbers, one per query."""
        cfg = self.config
        queries, prompts, labels = _reward_body(body)
        if len(queries) > cfg.max_items:
            raise Refusal(413, "too_many_items", f"{len(queries)} queries; at most {cfg.max_items}")
        items = query_requests(
            queries,
            prompts,
            labels,
            scale=cfg.reward_scale,
            labels_as_reference=cfg.labels_as_reference,
        )
        budget = MediaBudget(cfg.max_media_bytes)
        prepared = [
            i if isinstance(i, Verdict) else self.prepare_one(k, i, budget)
            for k, i in enumerate(items)
        ]
        verdicts = await self.judge(prepared, started)
        return reward_payload(verdicts, scale=cfg.reward_scale, invalid_reward=cfg.invalid_reward)

    async def judge(self, prepared: list[JudgeRequest | Verdict], started: float) -> list[Verdict]:
        """Verdicts of ``prepared`` in order, within the deadline counted from ``started``."""
        todo = [p for p in prepared if isinstance(p, JudgeRequest)]
        for p in prepared:
            if isinstance(p, Verdict):
                self.metrics.verdicts.labels(p.status).inc()
        try:
            futures = self.batcher.submit(todo) if todo else []
        except QueueFull as exc:
            raise Refusal(
                429, "queue_full", str(exc), {"Retry-After": str(exc.retry_after)}
            ) from exc
        except ShuttingDown as exc:
            raise Refusal(503, "shutting_down", str(exc)) from exc
        left = self.config.deadline_s - (time.monotonic() - started)
        try:
            judged = await asyncio.wait_for(
                asyncio.gather(*(asyncio.wrap_future(f) for f in futures)), max(left, 0.001)
            )
        except TimeoutError:
            for f in futures:
                f.cancel()  # not started yet: dropped unjudged
            raise Refusal(
                504,
                "deadline_exceeded",
                f"no verdict within the {self.config.deadline_s:g} s deadline (a judgment that "
                "had started still lands in the store: retrying answers from it)",
            ) from None
        it = iter(judged)
        verdicts = [next(it) if isinstance(p, JudgeRequest) else p for p in prepared]
        for v in verdicts:
            if v.status == "error":
                log.warning("request %r: error: %s", v.id, redact(v.error or "", self.secrets))
        return verdicts


def create_app(config: ServeConfig, spec: JudgeSpec, *, api_key: str | None = None) -> Any:
    """The ASGI app serving ``spec``'s judge under ``config`` (an empty key is refused)."""
    return _assemble(config, spec, api_key)[0]


def _assemble(config: ServeConfig, spec: JudgeSpec, api_key: str | None) -> tuple[Any, _Server]:
    server = _Server(config, spec, api_key)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server.batcher.start()
        await asyncio.to_thread(server.batcher.built.wait)  # the weights may still be loading
        yield
        # uvicorn has stopped accepting and waited for the requests in flight; what the
        # batcher still holds is judged before the judge (and its store) closes.
        drained = await asyncio.to_thread(server.batcher.stop, config.deadline_s + 30)
        if not drained:
            log.error("the judge did not finish its queue in time")
        shutil.rmtree(server.spool, ignore_errors=True)

    app = FastAPI(title="flexjudge", lifespan=lifespan)
    app.state.server = server

    @app.exception_handler(Refusal)
    async def refused(request: Request, exc: Refusal) -> Response:
        server.metrics.rejected.labels(exc.kind).inc()
        body = {"error": {"type": exc.kind, "message": redact(exc.message, server.secrets)}}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.post("/v1/judge")
    async def judge(request: Request, votes: bool = True) -> Response:
        started = time.monotonic()
        raw = await read_body(request, config.max_body_bytes)
        return JSONResponse(await server.judge_body(parse_body(raw), started, votes=votes))

    @app.post("/get_reward")
    async def get_reward(request: Request) -> Response:
        started = time.monotonic()
        raw = await read_body(request, config.max_body_bytes)
        return JSONResponse(await server.reward_body(parse_body(raw), started))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Response:
        b = server.batcher
        if b.ready.is_set():
            return JSONResponse({"ready": True, "model": b.model, "engine": spec.engine_name})
        return JSONResponse(
            {"ready": False, "error": b.load_error or "loading the weights"}, status_code=503
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        server.metrics.ready.set(1 if server.batcher.ready.is_set() else 0)
        server.metrics.queue_depth.set(server.batcher.depth)
        return Response(server.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    key = BearerKey(api_key) if api_key is not None else None
    refused_auth = server.metrics.rejected.labels("unauthorized").inc
    wrapped = MetricsMiddleware(
        AuthMiddleware(app, key, lambda path: refused_auth()), server.metrics, ROUTES
    )
    return wrapped, server


def _reward_body(body: Any) -> tuple[list[str], list[str], list[Any] | None]:
    """``query``, ``prompts`` and ``labels`` of an OpenRLHF body, checked."""
    if not isinstance(body, dict):
        raise Refusal(400, "bad_body", 'send {"query": [str], "prompts": [str], "labels": [str]}')
    queries, prompts, labels = body.get("query"), body.get("prompts"), body.get("labels")
    for name, value in (("query", queries), ("prompts", prompts)):
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise Refusal(400, "bad_body", f"{name!r} must be a list of strings")
    queries, prompts = cast(list[str], queries), cast(list[str], prompts)
    if len(prompts) != len(queries):
        raise Refusal(400, "bad_body", f"{len(queries)} queries but {len(prompts)} prompts")
    if labels is not None:
        if not isinstance(labels, list) or len(labels) != len(queries):
            raise Refusal(400, "bad_body", "'labels' must be a list with one entry per query")
        if not all(x is None or isinstance(x, str) for x in labels):
            raise Refusal(400, "bad_body", "'labels' entries must be strings (or null)")
    if not queries:
        raise Refusal(400, "bad_body", "'query' is empty")
    return queries, prompts, labels


def run_server(config: ServeConfig, spec: JudgeSpec, *, api_key: str | None = None) -> None:
    """Serve until SIGINT/SIGTERM; then stop accepting, drain and exit (uvicorn's graceful
    shutdown, then the batcher's)."""
    import uvicorn

    if not config.loopback and api_key is None:
        for line in (
            f"WARNING: flexjudge serve binds {config.host}, which other machines can reach, and",
            "WARNING: no --api-key-env is set: anyone who can reach it can use the judge.",
        ):
            log.warning("%s", line)
    app, server = _assemble(config, spec, api_key)
    # Build the judge before listening, so that a store held by another server or a model that
    # is not there fails the command at once, with its one error line.
    batcher = server.batcher.start()
    batcher.built.wait()
    if batcher.load_error is not None:
        batcher.stop(timeout=5)
        raise ConfigError(batcher.load_error)
    log.info(
        "flexjudge serve: %s (%s engine) on http://%s:%d, store %s",
        spec.model,
        spec.engine_name,
        config.host,
        config.port,
        spec.store,
    )
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        access_log=config.log_level == "debug",
        timeout_graceful_shutdown=int(config.deadline_s) + 10,
    )
