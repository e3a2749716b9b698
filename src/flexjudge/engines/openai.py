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

``max_tokens`` is always sent. Transient failures (HTTP 429 and 5xx, connection resets,
timeouts, bodies that are not JSON) are retried with exponential backoff and jitter, within a
per-request timeout and an optional total budget; what still fails raises
:class:`~flexjudge.errors.EngineError` for its batch, which the pipeline turns into error
records for the requests concerned.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import httpx

from flexjudge.engines.base import (
    ChatRequest,
    Completion,
    Engine,
    EngineInfo,
    SamplingParams,
    truncate_at_stop,
)
from flexjudge.engines.chatml import render_chatml
from flexjudge.errors import ConfigError, EngineError, MediaError

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIEngine(Engine):
    """``model`` is the name the server serves; ``base_url`` ends in ``/v1``."""

    modalities = frozenset({"image"})

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key_env: str | None = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 4,
        total_timeout: float | None = None,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise ConfigError("the openai engine needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        self.model = model
        self.base_url = base_url.rstrip("/")
        key = os.environ.get(api_key_env) if api_key_env else None
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.total_timeout = total_timeout
        self.backoff = backoff
        self.transport = transport
        self.supports_n: bool | None = None
        self.supports_prefill: bool | None = None

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("openai", self.model, {"base_url": self.base_url})

    def render(self, request: ChatRequest) -> str:
        # The server applies its own template; show the conversation in ChatML for reading.
        return render_chatml(request)

    def check(self, request: ChatRequest) -> None:
        for kind in request.modalities():
            if kind not in self.modalities:
                raise MediaError(f"the openai engine cannot send {kind} input yet")
        for m in request.messages:
            for p in m.parts:
                if p.type == "image":
                    _image_url(p.media)

    # -- generation -------------------------------------------------------------------------
    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        return asyncio.run(self._generate_all(list(requests), params))

    async def _generate_all(
        self, requests: list[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        deadline = time.monotonic() + self.total_timeout if self.total_timeout else None
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(
            base_url=self.base_url,
            headers=self.headers,
            limits=limits,
            timeout=self.timeout,
            transport=self.transport,
        ) as client:
            sem = asyncio.Semaphore(self.concurrency)
            if requests and (self.supports_n is None or self.supports_prefill is None):
                # Probe with the first request alone, so that what it reveals serves the rest.
                first = [await self._one(client, sem, requests[0], params, deadline)]
                rest = await asyncio.gather(
                    *(self._one(client, sem, r, params, deadline) for r in requests[1:])
                )
                return first + list(rest)
            return list(
                await asyncio.gather(
                    *(self._one(client, sem, r, params, deadline) for r in requests)
                )
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
        if params.n > 1 and self.supports_n is None:
            self.supports_n = len(comps) >= params.n
        k = len(comps)
        while k < params.n:  # the server ignored n: one seeded request per missing vote
            seed = None if params.seed is None else params.seed + k
            comps += await self._call(client, sem, request, params, 1, seed, deadline)
            k = len(comps)
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
        assert data is not None
        try:
            choices = data["choices"]
            comps = [
                self._completion(c, request.assistant_prefix, prefill, params) for c in choices
            ]
        except (KeyError, TypeError) as exc:
            raise EngineError(
                f"malformed response from {self.base_url}: {str(data)[:200]}"
            ) from exc
        # Servers report usage once per response, summed over its choices (not per choice).
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        total = usage.get("completion_tokens")
        if isinstance(total, int) and comps:
            share = round(total / len(comps))
            comps = [replace(c, n_tokens=share) for c in comps]
        return comps

    def _completion(
        self, choice: dict[str, Any], prefix: str, prefilled: bool, params: SamplingParams
    ) -> Completion:
        msg = choice.get("message") or {}
        content = msg.get("content") or ""
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        if reasoning:
            text = f"{reasoning.strip()}\n</think>{content}"
        else:
            text = content
            if not prefilled and prefix and text.lstrip().startswith(prefix.strip()):
                text = text.lstrip()[len(prefix.strip()) :].lstrip("\n")
        text, stopped = truncate_at_stop(text, params.stop, params.stop_count)
        finish = (
            "stop" if stopped else "length" if choice.get("finish_reason") == "length" else "eos"
        )
        return Completion(text, finish)  # type: ignore[arg-type]

    async def _post(
        self,
        client: httpx.AsyncClient,
        sem: asyncio.Semaphore,
        body: dict[str, Any],
        deadline: float | None,
        *,
        allow_prefill_probe: bool,
    ) -> dict[str, Any] | None:
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            if deadline is not None and time.monotonic() > deadline:
                raise EngineError(f"total time budget exhausted ({last})")
            try:
                async with sem:
                    resp = await client.post("/chat/completions", json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if (
                    resp.status_code in (400, 422)
                    and allow_prefill_probe
                    and _mentions_prefill(resp.text)
                ):
                    return None
                if resp.status_code == 401 or resp.status_code == 403:
                    raise EngineError(
                        f"{self.base_url} refused the API key (HTTP {resp.status_code})"
                    )
                if resp.status_code == 404:
                    raise EngineError(
                        f"{self.base_url}: not found (HTTP 404) - is the model "
                        f"{self.model!r} served there? {resp.text[:200]}"
                    )
                if resp.status_code in _RETRY_STATUS:
                    last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                elif resp.status_code >= 400:
                    raise EngineError(
                        f"{self.base_url} answered HTTP {resp.status_code}: {resp.text[:300]}"
                    )
                else:
                    try:
                        return resp.json()
                    except ValueError:
                        last = f"a body that is not JSON: {resp.text[:120]!r}"
            if attempt < self.max_retries:
                await asyncio.sleep(self.backoff * (2**attempt) * (0.5 + random.random()))
        raise EngineError(
            f"{self.base_url}: giving up after {self.max_retries + 1} attempts ({last})"
        )


def _mentions_prefill(text: str) -> bool:
    return "continue_final_message" in text or "add_generation_prompt" in text


def _image_url(media: Any) -> str:
    """A data URL for an image path or PIL image (MediaError naming the file otherwise)."""
    from flexjudge.engines.images import load_image

    image = load_image(media)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
