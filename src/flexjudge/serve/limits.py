"""What the server refuses before any judging, and how: every refusal is a :class:`Refusal`
with a status, a named ``type`` and a message, answered as ``{"error": {"type", "message"}}``.

========  =====================  ==========================================================
status    type                   when
========  =====================  ==========================================================
400       ``bad_body``           not UTF-8, not JSON (``NaN`` included), nested deeper than
                                 :data:`flexjudge.io.jsonl.MAX_DEPTH`, or not the expected shape
401       ``unauthorized``       a key is required and missing or wrong (:mod:`.auth`)
413       ``body_too_large``     the body is over ``--max-body-bytes`` (by its
                                 ``Content-Length`` or as it streams in)
413       ``too_many_items``     more than ``--max-items`` requests (or queries) in one body
413       ``too_many_responses`` a request with more than ``--max-responses`` responses
413       ``media_too_large``    media over ``--max-media-bytes`` in one HTTP request
429       ``queue_full``         ``--max-queue`` requests already wait (``Retry-After`` says
                                 when to come back)
503       ``shutting_down``      the server is draining
504       ``deadline_exceeded``  no verdict within ``--deadline-s``
========  =====================  ==========================================================

A malformed *request* inside a well-formed body (a missing instruction, a refused media path)
is not a refusal: it becomes that request's ``"error"`` verdict, as in ``flexjudge run``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from flexjudge.io.jsonl import parse_json_line


class Refusal(Exception):
    """An HTTP request the server will not judge (module table)."""

    def __init__(
        self, status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = dict(headers or {})


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to be over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise Refusal(400, "bad_body", "Content-Length is not a number") from None
        if size > limit:
            raise Refusal(413, "body_too_large", f"the body is {size} bytes; at most {limit}")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise Refusal(413, "body_too_large", f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(raw: bytes) -> Any:
    """The body's JSON value, by the rules of the one JSON-line reader."""
    if not raw.strip():
        raise Refusal(400, "bad_body", "the body is empty; send JSON")
    line = parse_json_line(raw, number=1, path="body", objects=False)
    if line.error is not None:
        raise Refusal(400, "bad_body", f"the body is {line.error.cause}")
    return line.value


def check_counts(items: list[Any], *, max_items: int, max_responses: int) -> None:
    """Refuse a body with too many requests, or a request with too many responses."""
    if len(items) > max_items:
        raise Refusal(
            413, "too_many_items", f"{len(items)} requests in one body; at most {max_items}"
        )
    for i, item in enumerate(items):
        responses = item.get("responses") if isinstance(item, dict) else None
        if isinstance(responses, list) and len(responses) > max_responses:
            raise Refusal(
                413,
                "too_many_responses",
                f"request {i} has {len(responses)} responses; at most {max_responses}",
            )
