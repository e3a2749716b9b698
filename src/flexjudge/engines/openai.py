"""An engine for OpenAI-compatible chat-completions servers: vLLM, SGLang, `transformers serve`,
or a hosted API (GPT-4o as a baseline judge).

What differs between servers is *detected*, never assumed:

* **Votes.** ``n`` is sent once; a server that answers with fewer choices (``transformers
  serve`` returns one, with only a log warning) is remembered, and the missing votes are
  requested one by one with seeds ``seed + i``.
* **Prefill.** The judge primes the assistant turn with ``<think>\\n``. vLLM continues a final
  assistant message (``continue_final_message``); a server that rejects those fields (HTTP
  400/422) is remembered and asked without the prefix instead — the model then opens
  ``<think>`` itself, and a leading copy of the prefix is removed from its output so that every
  server returns "the text after the prefix".
* **Split reasoning.** Servers with reasoning parsers return ``reasoning_content`` (or
  ``reasoning``) beside ``content``; it is put back as ``reasoning</think>content``, so the
  verdict equals that of a server returning the text inline.

What a faulty server can do is *bounded* (the contract is in ``docs/openai_engine.md``):

* every attempt has a wall-clock deadline (``timeout``, connect included) enforced around the
  whole exchange, since httpx's timeouts are per read and a server trickling bytes defeats them;
* transient failures (HTTP 408/409/425/429/5xx, timeouts, connection errors, bodies that are
  not JSON) are retried ``max_retries`` times with capped exponential backoff, or after the
  server's ``Retry-After`` when it sends one (at most ``retry_after_cap`` seconds);
* a circuit breaker counts consecutive failed requests: after ``breaker_threshold`` of them the
  remaining requests fail at once with :class:`~flexjudge.errors.ServerUnavailable` instead of
  being sent, until one probe, ``breaker_cooldown`` seconds later, succeeds;
* a response whose ``choices`` are missing, empty, short, or not made of text messages is an
  :class:`~flexjudge.errors.EngineError` for its request, never a crash or a loop;
* no message carries the API key, an ``Authorization`` value, URL credentials, or more than
  200 characters of server text (:mod:`flexjudge.redact`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from flexjudge.engines._resilience import CircuitBreaker, check_ranges, retry_after, run_sync
from flexjudge.engines.base import (
    ChatRequest,
    Completion,
    Engine,
    EngineInfo,
    SamplingParams,
)
from flexjudge.engines.chatml import render_chatml
from flexjudge.errors import (
    ConfigError,
    EngineError,
    FlexJudgeError,
    ServerUnavailable,
)
from flexjudge.redact import server_text, strip_url_credentials, url_secrets

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 409, 425, 429})
#: 5xx answers that will not change on a retry.
_FINAL_5XX = frozenset({501, 505})
#: A longer wait between attempts is never useful: the breaker or the retries decide instead.
_BACKOFF_CAP = 30.0
#: Response bodies are read up to this size (a judgment is a few KiB; a runaway stream is not).
_MAX_BODY = 32 * 1024 * 1024
#: Server text kept in an error message.
_TEXT = 200

Result = list[Completion] | FlexJudgeError


class OpenAIEngine(Engine):
    """A client for one OpenAI-compatible server.

    Args:
        model: the model name the server serves (sent as ``model``).
        base_url: the server's API root, ending in ``/v1``. Credentials written into it
            (``https://user:pass@host/v1``) are sent as HTTP Basic auth, and never shown,
            logged or stored: :attr:`info` and every message carry the URL without them.
        api_key_env: the environment variable holding the API key, sent as
            ``Authorization: Bearer``; ``None``, or an unset or empty variable, sends none.
            URL credentials, when given, take precedence.
        concurrency: requests in flight at once (at least 1).
        timeout: seconds one attempt may take, from connecting to the last byte of the
            answer (> 0). A server that is silent, or trickles its answer, is cut off then.
        connect_timeout: seconds to establish the connection, within ``timeout`` (> 0).
        max_retries: retries of a transient failure per request (0-20); a request makes at
            most ``max_retries + 1`` attempts.
        retry_after_cap: the longest ``Retry-After`` (seconds or an HTTP date) honoured, in
            seconds (>= 0). A server asking for a longer wait fails the request at once with
            :class:`~flexjudge.errors.ServerUnavailable`.
        breaker_threshold: consecutive failed attempts (transient failures and malformed
            answers; a 429 only when it ends a request's last attempt, since a live server
            sends it) after which the circuit breaker opens and the remaining requests fail at
            once (>= 1).
        breaker_cooldown: seconds the breaker stays open before one probe request is let
            through; its success closes the breaker (>= 0).
        total_timeout: an optional budget in seconds for one :meth:`generate` call (> 0).
        backoff: the first wait between attempts, in seconds, doubled on each retry (with
            jitter, at most 30 s) when the server gives no ``Retry-After`` (>= 0).
        transport: an httpx transport to use instead of the network (tests).
    """

    modalities = frozenset({"image"})

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key_env: str | None = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        retry_after_cap: float = 60.0,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
        total_timeout: float | None = None,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        check_ranges(
            concurrency=concurrency,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            retry_after_cap=retry_after_cap,
            breaker_threshold=breaker_threshold,
            breaker_cooldown=breaker_cooldown,
            total_timeout=total_timeout,
            backoff=backoff,
        )
        url, auth, url_creds = _split_url(base_url)
        key = os.environ.get(api_key_env) if api_key_env else None
        if key and (not key.isprintable() or key != key.strip()):
            raise ConfigError(
                f"the API key in ${api_key_env} has white space or control characters: "
                "set it to the key alone"
            )
        self.model = model
        #: The server's URL without credentials: what messages, :attr:`info` and stores see.
        self.base_url = url
        self._auth = auth
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._secrets = [key, *url_creds]
        self.concurrency = concurrency
        self.timeout = float(timeout)
        self.connect_timeout = min(float(connect_timeout), self.timeout)
        self.max_retries = max_retries
        self.retry_after_cap = float(retry_after_cap)
        self.total_timeout = total_timeout
        self.backoff = backoff
        self.transport = transport
        self.supports_n: bool | None = None
        self.supports_prefill: bool | None = None
        self.breaker = CircuitBreaker(breaker_threshold, breaker_cooldown, self.base_url)
        self._pause_until = 0.0  # monotonic time before which no attempt starts (Retry-After)

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("openai", self.model, {"base_url": self.base_url})

    def render(self, request: ChatRequest) -> str:
        # The server applies its own template; show the conversation in ChatML for reading.
        return render_chatml(request)

    def check(self, request: ChatRequest) -> None:
        super().check(request)
        for m in request.messages:
            for p in m.parts:
                if p.type == "image":
                    _image_url(p.media)

    def _clean(self, text: str, n: int = _TEXT) -> str:
        """Untrusted text made fit for a message: secrets redacted, one line, capped."""
        return server_text(text, self._secrets, n)

    # -- generation -------------------------------------------------------------------------
    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        """:meth:`agenerate`, blocking; works inside a running event loop too."""
        return run_sync(self.agenerate(list(requests), params))

    def generate_each(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[Result]:
        """:meth:`agenerate_each`, blocking; works inside a running event loop too."""
        return run_sync(self.agenerate_each(list(requests), params))

    async def agenerate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        """``params.n`` completions per request; raises the first failure, a
        :class:`ServerUnavailable` in preference (it concerns every request, not one)."""
        results = await self.agenerate_each(requests, params)
        errors = [r for r in results if isinstance(r, FlexJudgeError)]
        if errors:
            raise next((e for e in errors if isinstance(e, ServerUnavailable)), errors[0])
        return [r for r in results if not isinstance(r, FlexJudgeError)]

    async def agenerate_each(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[Result]:
        """Per request, its completions or the error that ended it; never raises for one
        request, so that one bad request costs only its own result."""
        requests = list(requests)
        deadline = time.monotonic() + self.total_timeout if self.total_timeout else None
        async with self._client() as client:
            sem = asyncio.Semaphore(self.concurrency)

            async def one(request: ChatRequest) -> Result:
                try:
                    return await self._one(client, sem, request, params, deadline)
                except FlexJudgeError as exc:
                    return exc

            first: list[Result] = []
            if requests and self._needs_probe(requests[0], params):
                # The first request alone, so that what it reveals (n, prefill) serves the rest.
                first = [await one(requests[0])]
            rest = await asyncio.gather(*(one(r) for r in requests[len(first) :]))
            return first + list(rest)

    def _needs_probe(self, request: ChatRequest, params: SamplingParams) -> bool:
        return (params.n > 1 and self.supports_n is None) or (
            bool(request.assistant_prefix) and self.supports_prefill is None
        )

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers,
            auth=self._auth,
            limits=httpx.Limits(max_connections=self.concurrency),
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            transport=self.transport,
            follow_redirects=False,
        )

    async def _one(
        self,
        client: httpx.AsyncClient,
        sem: asyncio.Semaphore,
        request: ChatRequest,
        params: SamplingParams,
        deadline: float | None,
    ) -> list[Completion]:
        n = params.n if self.supports_n is not False else 1
        comps = await self._call(client, sem, request, params, n, params.seed, deadline)
        if len(comps) < n and not (n > 1 and self.supports_n is None):
            raise EngineError(
                f"{self.base_url} returned {len(comps)} choices for n={n} (model {self.model!r})"
            )
        if params.n > 1 and self.supports_n is None:
            self.supports_n = len(comps) >= params.n
        while len(comps) < params.n:  # the server ignored n: one seeded request per vote
            # Each call returns at least one choice or raises, so this loop ends.
            k = len(comps)
            seed = None if params.seed is None else params.seed + k
            comps += await self._call(client, sem, request, params, 1, seed, deadline)
        return comps[: params.n]

    def _payload(
        self, request: ChatRequest, params: SamplingParams, n: int, seed: int | None, prefill: bool
    ) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        for m in request.messages:
            content = [
                {"type": "text", "text": p.text}
                if p.type == "text"
                else {"type": "image_url", "image_url": {"url": _image_url(p.media)}}
                for p in m.parts
            ]
            messages.append({"role": m.role, "content": content})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": n,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if seed is not None:
            body["seed"] = seed
        if prefill and request.assistant_prefix:
            messages.append({"role": "assistant", "content": request.assistant_prefix})
            body.update(continue_final_message=True, add_generation_prompt=False)
        return body

    async def _call(
        self,
        client: httpx.AsyncClient,
        sem: asyncio.Semaphore,
        request: ChatRequest,
        params: SamplingParams,
        n: int,
        seed: int | None,
        deadline: float | None,
    ) -> list[Completion]:
        """One chat completion (with its retries): at least one completion, or an error."""
        prefill = bool(request.assistant_prefix) and self.supports_prefill is not False
        body = self._payload(request, params, n, seed, prefill)
        data = await self._post(client, sem, body, deadline, allow_prefill_probe=prefill)
        if data is None:  # the server refused the prefill fields: remember, ask without them
            self.supports_prefill = False
            body = self._payload(request, params, n, seed, prefill=False)
            data = await self._post(client, sem, body, deadline, allow_prefill_probe=False)
            prefill = False
        elif prefill:
            self.supports_prefill = True
        if data is None:  # refused again without the fields: not a prefill problem after all
            raise EngineError(f"{self.base_url} rejected the request (HTTP 400/422)")
        try:
            comps = self._completions(data, request.assistant_prefix, prefill, params)
        except EngineError as exc:
            self.breaker.failure(str(exc))
            raise
        self.breaker.success()
        return comps

    def _completions(
        self, data: Any, prefix: str, prefilled: bool, params: SamplingParams
    ) -> list[Completion]:
        """The completions of a parsed response; EngineError when it is not a well-formed
        chat completion with at least one choice."""
        choices = data.get("choices") if isinstance(data, dict) else None
        try:
            if not isinstance(data, dict):
                raise _Malformed(f"the body is a JSON {type(data).__name__}, not an object")
            if not isinstance(choices, list):
                raise _Malformed("no 'choices' list")
            if not choices:
                raise _Malformed("an empty 'choices' list")
            comps = [_completion(c, prefix, prefilled, params) for c in choices]
        except _Malformed as exc:
            excerpt = self._clean(json.dumps(data, ensure_ascii=False), 120)
            raise EngineError(
                f"malformed response from {self.base_url}: {exc} (model {self.model!r}): {excerpt}"
            ) from None
        # Servers report usage once per response, summed over its choices (not per choice).
        usage = data.get("usage")
        total = usage.get("completion_tokens") if isinstance(usage, dict) else None
        if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
            share = round(total / len(comps))
            comps = [replace(c, n_tokens=share) for c in comps]
        return comps

    # -- one HTTP exchange, with retries ------------------------------------------------------
    async def _post(
        self,
        client: httpx.AsyncClient,
        sem: asyncio.Semaphore,
        body: dict[str, Any],
        deadline: float | None,
        *,
        allow_prefill_probe: bool,
    ) -> Any:
        """The parsed JSON of a 2xx answer, or None when the server refused the prefill
        fields; raises EngineError once the retries, the budget or the breaker say stop."""
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            await self._sleep(self._pause_until - time.monotonic(), deadline, last)
            async with sem:
                probe = self.breaker.admit()  # after queueing: it may have opened meanwhile
                try:
                    status, headers, raw = await self._exchange(client, body, deadline)
                    outcome = self._interpret(status, headers, raw, allow_prefill_probe)
                except _Transient as exc:
                    outcome = _Retry(str(exc))
                finally:
                    if probe:
                        self.breaker.end_probe()
            if not isinstance(outcome, _Retry):
                return outcome.value
            last = outcome.why
            if outcome.counts:
                self.breaker.failure(last)
            if attempt == self.max_retries:
                if not outcome.counts:  # rate-limited on every attempt: now it counts, once
                    self.breaker.failure(last)
                break
            wait = outcome.retry_after
            if wait is None:
                wait = min(_BACKOFF_CAP, self.backoff * 2**attempt) * (0.5 + random.random())
            else:  # the server said when: every request waits (a rate limit is per client)
                self._pause_until = max(self._pause_until, time.monotonic() + wait)
            log.debug("%s: retrying in %.1f s after %s", self.base_url, wait, last)
            await self._sleep(wait, deadline, last)
        raise EngineError(
            f"{self.base_url}: giving up after {self.max_retries + 1} attempts ({last})"
        )

    async def _sleep(self, seconds: float, deadline: float | None, last: str) -> None:
        if deadline is not None and time.monotonic() + max(0.0, seconds) >= deadline:
            raise EngineError(
                f"{self.base_url}: total time budget of {self.total_timeout:g} s exhausted ({last})"
            )
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def _exchange(
        self, client: httpx.AsyncClient, body: dict[str, Any], deadline: float | None
    ) -> tuple[int, httpx.Headers, bytes]:
        """One attempt under a wall-clock deadline: status, headers and the whole body."""
        limit = self.timeout
        if deadline is not None:
            limit = max(0.001, min(limit, deadline - time.monotonic()))
        try:
            return await asyncio.wait_for(_read(client, body), limit)
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            raise _Transient(f"no complete answer within {limit:g} s (timeout)") from None
        except httpx.TimeoutException as exc:
            raise _Transient(f"{type(exc).__name__} (timeout)") from exc
        except httpx.RequestError as exc:
            raise _Transient(f"{type(exc).__name__}: {self._clean(str(exc), 120)}") from exc

    def _interpret(
        self, status: int, headers: httpx.Headers, raw: bytes, allow_prefill_probe: bool
    ) -> _Retry | _Done:
        """What one HTTP answer means: a result, a retry, or an error raised here."""
        text = raw.decode("utf-8", errors="replace")
        where = f"{self.base_url} answered HTTP {status}"
        if 200 <= status < 300:
            try:
                return _Done(json.loads(text))
            except ValueError:
                return _Retry(f"HTTP {status} with a body that is not JSON: {self._body(text)}")
        if status in (401, 403):
            raise ServerUnavailable(f"{self.base_url} refused the API key (HTTP {status})")
        if status == 404:
            raise ServerUnavailable(
                f"{where} (not found) - is the model {self.model!r} served there? "
                f"{self._body(text)}"
            )
        if 300 <= status < 400:
            to = self._clean(headers.get("location", "?"), 120)
            raise ServerUnavailable(f"{where} (a redirect to {to}): pass the final URL")
        if status in (400, 422) and allow_prefill_probe and _mentions_prefill(text):
            self.breaker.success()  # the server is up and answering
            return _Done(None)
        if status in _RETRY_STATUS or (status >= 500 and status not in _FINAL_5XX):
            after = retry_after(headers)
            if after is not None and after > self.retry_after_cap:
                raise ServerUnavailable(
                    f"{where} and asked to retry after {after:.0f} s, more than "
                    f"retry_after_cap={self.retry_after_cap:g} s"
                )
            return _Retry(f"HTTP {status}: {self._body(text)}", after, counts=status != 429)
        self.breaker.success()
        raise EngineError(f"{where}: {self._body(text)}")

    def _body(self, text: str) -> str:
        """A server's body for a message: tags of an HTML page dropped, redacted, capped."""
        if text.lstrip()[:1] == "<":
            text = _TAGS.sub(" ", _HTML_SKIP.sub(" ", text))
        return repr(self._clean(text)) if text.strip() else "(empty body)"


# -- helpers ------------------------------------------------------------------------------------
class _Transient(Exception):
    """One attempt failed in a way a retry may fix (its message is already redacted)."""


class _Malformed(Exception):
    """A response is not a well-formed chat completion (the message says how)."""


@dataclass
class _Retry:
    why: str
    retry_after: float | None = None
    counts: bool = True  # towards the circuit breaker


@dataclass
class _Done:
    value: Any


async def _read(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> tuple[int, httpx.Headers, bytes]:
    async with client.stream("POST", "/chat/completions", json=body) as resp:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > _MAX_BODY:
                raise _Transient(f"a body over {_MAX_BODY >> 20} MiB")
            chunks.append(chunk)
        return resp.status_code, resp.headers, b"".join(chunks)


def _completion(choice: Any, prefix: str, prefilled: bool, params: SamplingParams) -> Completion:
    if not isinstance(choice, dict):
        raise _Malformed(f"a choice that is a JSON {type(choice).__name__}, not an object")
    msg = choice.get("message")
    if not isinstance(msg, dict):
        raise _Malformed("a choice without a 'message' object")
    content = _text_of(msg.get("content"), "content")
    reasoning = msg.get("reasoning_content") or msg.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, str):
        raise _Malformed(f"'reasoning_content' that is a JSON {type(reasoning).__name__}")
    if reasoning:
        text = f"{reasoning.strip()}\n</think>{content}"
    else:
        text = content
        if not prefilled and prefix and text.lstrip().startswith(prefix.strip()):
            text = text.lstrip()[len(prefix.strip()) :].lstrip("\n")
    text, stopped = params.truncate(text)
    finish = "stop" if stopped else "length" if choice.get("finish_reason") == "length" else "eos"
    return Completion(text, finish)  # type: ignore[arg-type]


def _text_of(content: Any, field: str) -> str:
    """A message's text: a string, null (no text), or a list of text parts (which the
    OpenAI schema allows); anything else is malformed."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if (
                not isinstance(part, dict)
                or part.get("type") not in ("text", "output_text")
                or not isinstance(part.get("text"), str)
            ):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise _Malformed(f"'{field}' with a part that is not text ({kind!r})")
            texts.append(part["text"])
        return "".join(texts)
    raise _Malformed(f"'{field}' that is a JSON {type(content).__name__}, not text")


def _split_url(base_url: str) -> tuple[str, httpx.BasicAuth | None, list[str]]:
    """The URL without credentials, Basic auth from them, and the secrets to redact."""
    if not base_url:
        raise ConfigError("the openai engine needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    clean = strip_url_credentials(base_url).rstrip("/")
    try:
        parts = urlsplit(base_url)
        user, password = parts.username, parts.password
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok, user, password = False, None, None
    if not ok:
        raise ConfigError(
            f"--base-url {clean!r} is not an http(s) URL with a host "
            "(e.g. http://127.0.0.1:8000/v1)"
        )
    auth = None
    if user is not None or password is not None:
        auth = httpx.BasicAuth(unquote(user or ""), unquote(password or ""))
    return clean, auth, url_secrets(base_url)


def _mentions_prefill(text: str) -> bool:
    return "continue_final_message" in text or "add_generation_prompt" in text


_HTML_SKIP = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>")
_TAGS = re.compile(r"(?s)<[^>]*>")


def _image_url(media: Any) -> str:
    """A data URL for an image path or PIL image (MediaError naming the file otherwise)."""
    from flexjudge.engines.images import load_image

    image = load_image(media)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
