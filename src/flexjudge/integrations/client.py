"""A client of a running ``flexjudge serve``: ``POST /v1/judge`` (and ``/get_reward``), sync
and async, over httpx.

Rules:

* Every call has a deadline (``timeout`` seconds for one attempt, connect included).
* Retried, with backoff: connection failures, timeouts, 429 (after its ``Retry-After``, at most
  ``retry_after_cap`` seconds), 503 and 504 (the server drains, or the deadline passed; a
  verdict that was already being computed lands in the server's store, so the retry is cheap).
* Not retried: any other 4xx, whose message is raised as :class:`~flexjudge.errors.InputError`
  (the request is wrong, sending it again would not help).
* A server still failing after ``max_retries`` retries raises
  :class:`~flexjudge.errors.ServerUnavailable`: a training loop stops loudly rather than
  training on made-up rewards.
* The API key is read from the environment variable ``api_key_env`` and never appears in an
  error message.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from typing import Any

import httpx

from flexjudge.errors import ConfigError, InputError, ServerUnavailable
from flexjudge.redact import server_text
from flexjudge.verdict import Verdict

_RETRIED = frozenset({429, 503, 504})


class JudgeClient:
    """Talks to ``flexjudge serve`` at ``url`` (e.g. ``http://127.0.0.1:8000``)."""

    def __init__(
        self,
        url: str,
        *,
        api_key_env: str | None = None,
        timeout: float = 180.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        retry_after_cap: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        key = os.environ.get(api_key_env) if api_key_env else None
        if api_key_env and not key:
            raise ConfigError(
                f"the environment variable {api_key_env} (the judge's API key) is not set"
            )
        self._key = key
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.retry_after_cap = retry_after_cap
        self._client: httpx.Client | None = None

    # -- judging ---------------------------------------------------------------------------
    def judge(self, requests: Sequence[dict[str, Any]]) -> list[Verdict]:
        """One verdict per request (the ``flexjudge run`` schema), in order."""
        return self._verdicts(self.post("/v1/judge?votes=false", list(requests)), len(requests))

    async def ajudge(self, requests: Sequence[dict[str, Any]]) -> list[Verdict]:
        body = await self.apost("/v1/judge?votes=false", list(requests))
        return self._verdicts(body, len(requests))

    @staticmethod
    def _verdicts(body: Any, n: int) -> list[Verdict]:
        if not isinstance(body, list) or len(body) != n:
            raise ServerUnavailable(f"the judge answered {n} requests with {type(body).__name__}")
        return [Verdict.model_validate(v) for v in body]

    # -- transport -------------------------------------------------------------------------
    def post(self, path: str, body: Any) -> Any:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        for attempt in range(self.max_retries + 1):
            try:
                r = self._client.post(self.url + path, json=body, headers=self.headers)
            except httpx.HTTPError as exc:
                failure: str = self._text(f"{type(exc).__name__}: {exc}")
                wait = self._wait(attempt, None)
            else:
                done, failure, wait = self._outcome(r, attempt)
                if done:
                    return r.json()
            if attempt == self.max_retries:
                break
            time.sleep(wait)
        raise ServerUnavailable(
            f"the judge at {self.url} failed {self.max_retries + 1} times: {failure}"
        )

    async def apost(self, path: str, body: Any) -> Any:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for attempt in range(self.max_retries + 1):
                try:
                    r = await client.post(self.url + path, json=body, headers=self.headers)
                except httpx.HTTPError as exc:
                    failure: str = self._text(f"{type(exc).__name__}: {exc}")
                    wait = self._wait(attempt, None)
                else:
                    done, failure, wait = self._outcome(r, attempt)
                    if done:
                        return r.json()
                if attempt == self.max_retries:
                    break
                await asyncio.sleep(wait)
        raise ServerUnavailable(
            f"the judge at {self.url} failed {self.max_retries + 1} times: {failure}"
        )

    def _outcome(self, r: httpx.Response, attempt: int) -> tuple[bool, str, float]:
        """(succeeded, what failed, seconds to wait before the next attempt)."""
        if r.status_code == 200:
            try:
                r.json()
                return True, "", 0.0
            except ValueError:
                return (
                    False,
                    self._text(f"HTTP 200 with a body that is not JSON: {r.text}"),
                    self._wait(attempt, None),
                )
        message = self._text(f"HTTP {r.status_code}: {r.text}")
        if r.status_code in _RETRIED or r.status_code >= 500:
            return False, message, self._wait(attempt, r.headers.get("retry-after"))
        raise InputError(f"the judge refused the request: {message}")

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(self.retry_after_cap, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return float(self.backoff * 2.0**attempt)

    def _text(self, text: str) -> str:
        return server_text(text, [self._key], 300)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
