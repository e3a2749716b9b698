"""The server's Prometheus metrics (``GET /metrics``), on a registry of its own so that several
apps in one process (tests) never share counters.

=================================================  =============================================
``flexjudge_http_requests_total{endpoint,code}``   HTTP requests answered, by route and status
``flexjudge_rejected_total{reason}``               refusals: unauthorized, body_too_large,
                                                   too_many_items, too_many_responses,
                                                   media_too_large, queue_full,
                                                   deadline_exceeded, bad_body
``flexjudge_verdicts_total{status}``               verdicts made: ok, invalid, error
``flexjudge_queue_depth``                          judge requests waiting for the engine
``flexjudge_batch_size``                           judge requests per engine batch (histogram)
``flexjudge_request_latency_seconds{endpoint}``    time from a request's arrival to its answer
``flexjudge_generated_tokens_total``               completion tokens the engine generated
``flexjudge_store_hits_total``                     engine requests answered from the store
``flexjudge_store_generated_total``                engine requests sent to the engine
``flexjudge_ready``                                1 once the weights are loaded
=================================================  =============================================
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "MetricsMiddleware", "ServerMetrics"]

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServerMetrics:
    """Every metric of one server (module table)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "flexjudge_http_requests",
            "HTTP requests answered.",
            ["endpoint", "code"],
            registry=r,
        )
        self.rejected = Counter(
            "flexjudge_rejected", "Requests refused, by reason.", ["reason"], registry=r
        )
        self.verdicts = Counter(
            "flexjudge_verdicts", "Verdicts made, by status.", ["status"], registry=r
        )
        self.queue_depth = Gauge(
            "flexjudge_queue_depth", "Judge requests waiting for the engine.", registry=r
        )
        self.batch_size = Histogram(
            "flexjudge_batch_size",
            "Judge requests per engine batch.",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "flexjudge_request_latency_seconds",
            "Seconds from a request's arrival to its answer.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "flexjudge_generated_tokens", "Completion tokens the engine generated.", registry=r
        )
        self.store_hits = Counter(
            "flexjudge_store_hits", "Engine requests answered from the store.", registry=r
        )
        self.store_generated = Counter(
            "flexjudge_store_generated", "Engine requests sent to the engine.", registry=r
        )
        self.ready = Gauge("flexjudge_ready", "1 once the weights are loaded.", registry=r)
        for status in ("ok", "invalid", "error"):
            self.verdicts.labels(status)  # present (at 0) before the first verdict

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP answer by route and status, and times it (ASGI, outermost, so that
    refusals by the auth layer are counted too)."""

    def __init__(self, app: Any, metrics: ServerMetrics, routes: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = scope["path"] if scope["path"] in self.routes else "other"
        started = time.monotonic()
        status = 500

        async def record(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.monotonic() - started)
