"""Bearer-key authentication, as ASGI middleware in front of every route but ``/health``.

The key is compared in constant time: both sides are hashed (sha256) and the digests compared
with :func:`hmac.compare_digest`, so neither the key's bytes nor its length leak through
timing. The scheme word is case-insensitive (RFC 9110); anything else is a 401 with
``WWW-Authenticate: Bearer``. The key never appears in a response or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths answered without a key: liveness only (it says nothing but "up").
OPEN_PATHS = frozenset({"/health"})


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class BearerKey:
    """The key clients must present."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("an empty API key would accept anyone")
        self._digest = _digest(key.encode("utf-8"))

    def accepts(self, header: bytes | None) -> bool:
        """Whether an ``Authorization`` header value carries the key."""
        if header is None:
            return False
        scheme, _, token = header.strip().partition(b" ")
        ok_scheme = hmac.compare_digest(scheme.lower(), b"bearer")
        ok_token = hmac.compare_digest(_digest(token.strip()), self._digest)
        return ok_scheme and ok_token


class AuthMiddleware:
    """Refuses HTTP requests without the key (``on_refused`` counts them)."""

    def __init__(
        self, app: ASGIApp, key: BearerKey | None, on_refused: Callable[[str], None]
    ) -> None:
        self.app = app
        self.key = key
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.key is None or scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if self.key.accepts(header):
            await self.app(scope, receive, send)
            return
        self.on_refused(scope["path"])
        body = json.dumps(
            {
                "error": {
                    "type": "unauthorized",
                    "message": "missing or wrong API key: send 'Authorization: Bearer <key>'",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
