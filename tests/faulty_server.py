"""A real, deliberately misbehaving OpenAI-compatible HTTP server on 127.0.0.1, for fault tests.

It is a plain :mod:`http.server` socket server run in a thread (or standalone:
``python tests/faulty_server.py --port 8123``). The misbehaviour is chosen by the first path
segment of the base URL, so one server serves every fault at once::

    with FaultyServer() as server:
        url = server.url("trickle", "0.5")   # http://127.0.0.1:PORT/trickle:0.5/v1
        OpenAIEngine("m", base_url=url)

Modes (``mode[:arg]``; each answers ``POST .../v1/chat/completions``):

=====================  ===========================================================================
``ok``                 a valid chat completion with ``n`` choices, each :data:`GOOD`
``one-choice``         one choice whatever ``n`` is (like ``transformers serve``)
``empty-choices``      ``{"choices": []}``
``missing-choices``    ``{"id": ...}`` without ``choices``
``short-choices``      ``n - 1`` choices
``string-choices``     ``{"choices": ["..."]}``
``int-content``        ``content`` is the integer 7
``parts-content``      ``content`` is a list of text parts (allowed by the OpenAI schema)
``bad-parts``          ``content`` is a list holding an image part and a number
``not-object``         the body is a JSON list
``bad-if:WORD``        ``{"choices": []}`` when WORD is in the request, else ``ok``
``trickle:SECONDS``    200 and a long Content-Length, then one byte every SECONDS (default 0.5)
``silent``             reads the request and never answers
``drop``               closes the connection without answering
``retry-after:S``      the first request: 429 with ``Retry-After: S``; then ``ok``
``retry-after-date:S`` the same, with an HTTP date S seconds ahead
``throttle:S``         always 429 with ``Retry-After: S``
``storm:STATUS``       always STATUS (default 500) with the body ``boom``
``flaky:K``            the first K requests 500, then ``ok``
``html:STATUS``        an HTML error page (a proxy's), status default 502
``echo:STATUS``        a JSON body echoing the request headers, ``Authorization`` first,
                       status default 500; ``echo:200`` is a 200 without ``choices``
``echo-raw:STATUS``    a text body naming the bare credential (the token without its scheme)
=====================  ===========================================================================

Counters ("the first request") are per mode spec and cleared by :meth:`FaultyServer.reset`.
Every request is recorded in :attr:`FaultyServer.seen` with its arrival time.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GOOD = "Assistant 1 is right.\n</think><answer>9</answer><answer>2</answer>"
_HTML = (
    "<html><head><title>502 Bad Gateway</title><style>body{font:12px}</style>"
    "<script>var t = 'noise';</script></head><body><center><h1>502 Bad Gateway</h1></center>"
    + "<hr><center>nginx/1.25.3</center>" * 40
    + "</body></html>"
)


@dataclass
class Seen:
    """One request as the server received it."""

    spec: str
    at: float  # time.monotonic() on arrival
    headers: dict[str, str]
    body: Any


def completion(contents: list[Any], **usage: int) -> dict[str, Any]:
    """A chat completion whose choices carry ``contents`` (any JSON) as message content."""
    return {
        "id": "cmpl-faulty",
        "object": "chat.completion",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": c},
                "finish_reason": "stop",
            }
            for i, c in enumerate(contents)
        ],
        "usage": usage or {"prompt_tokens": 5, "completion_tokens": 3 * len(contents)},
    }


class FaultyServer:
    """The server, running in a daemon thread; a context manager."""

    def __init__(self, port: int = 0) -> None:
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, mode: str, arg: str | None = None, *, userinfo: str | None = None) -> str:
        spec = mode if arg is None else f"{mode}:{arg}"
        auth = f"{userinfo}@" if userinfo else ""
        return f"http://{auth}127.0.0.1:{self.port}/{spec}/v1"

    def requests_to(self, mode: str, arg: str | None = None) -> list[Seen]:
        spec = mode if arg is None else f"{mode}:{arg}"
        with self._lock:
            return [s for s in self.seen if s.spec == spec]

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self._counts.clear()

    def count(self, spec: str) -> int:
        """Record one more request to ``spec``; returns how many came before it."""
        with self._lock:
            n = self._counts.get(spec, 0)
            self._counts[spec] = n + 1
            return n

    def start(self) -> FaultyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases silent and trickling handlers
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FaultyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: FaultyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        owner = self.server_owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        spec = self.path.strip("/").split("/", 1)[0]
        with owner._lock:
            owner.seen.append(Seen(spec, time.monotonic(), dict(self.headers.items()), body))
        mode, _, arg = spec.partition(":")
        n = body.get("n", 1) if isinstance(body, dict) else 1
        handler = _MODES.get(mode)
        if handler is None:
            self._send(404, {"error": f"unknown mode {mode!r}"})
            return
        handler(self, arg, n, spec, raw)

    # -- answers ------------------------------------------------------------------------------
    def _send(
        self,
        status: int,
        payload: Any,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def ok(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self._send(200, completion([GOOD] * n))

    def one_choice(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self._send(200, completion([GOOD]))

    def short_choices(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self._send(200, completion([GOOD] * (n - 1)))

    def bad_if(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        if arg.encode() in raw:
            self._send(200, {"choices": []})
        else:
            self.ok(arg, n, spec, raw)

    def trickle(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        interval = float(arg or 0.5)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        stop = self.server_owner.stopping
        try:
            for _ in range(100000):  # white space, so the body would be valid JSON... eventually
                self.wfile.write(b" ")
                self.wfile.flush()
                if stop.wait(interval):
                    return
        except OSError:  # the client gave up
            return

    def silent(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self.server_owner.stopping.wait(600)
        self.close_connection = True

    def drop(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self.close_connection = True  # no status line at all

    def retry_after(self, arg: str, n: int, spec: str, raw: bytes, *, date: bool = False) -> None:
        if self.server_owner.count(spec) == 0:
            seconds = float(arg or 1)
            value = (
                email.utils.formatdate(time.time() + seconds, usegmt=True) if date else arg or "1"
            )
            self._send(429, {"error": "slow down"}, headers={"Retry-After": value})
        else:
            self.ok(arg, n, spec, raw)

    def retry_after_date(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self.retry_after(arg, n, spec, raw, date=True)

    def throttle(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self._send(429, {"error": "rate limited"}, headers={"Retry-After": arg or "1"})

    def storm(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self._send(int(arg or 500), b"boom", content_type="text/plain")

    def flaky(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        if self.server_owner.count(spec) < int(arg or 1):
            self._send(500, b"boom", content_type="text/plain")
        else:
            self.ok(arg, n, spec, raw)

    def html(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        self._send(int(arg or 502), _HTML.encode(), content_type="text/html")

    def echo(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        # A debugging proxy's habit: the request headers come back in the error body, the
        # credential first so that it falls inside any length cap.
        auth = self.headers.get("Authorization", "")
        echoed = {"error": {"authorization": auth, "request_headers": dict(self.headers)}}
        self._send(int(arg or 500), echoed)

    def echo_raw(self, arg: str, n: int, spec: str, raw: bytes) -> None:
        credential = self.headers.get("Authorization", "").partition(" ")[2]
        text = f"invalid credential {credential} for this deployment"
        self._send(int(arg or 500), text.encode(), content_type="text/plain")


def _fixed(payload: Any) -> Any:
    def answer(h: _Handler, arg: str, n: int, spec: str, raw: bytes) -> None:
        h._send(200, payload)

    return answer


_MODES: dict[str, Any] = {
    "ok": _Handler.ok,
    "one-choice": _Handler.one_choice,
    "empty-choices": _fixed({"choices": []}),
    "missing-choices": _fixed({"id": "cmpl-faulty", "object": "chat.completion"}),
    "short-choices": _Handler.short_choices,
    "string-choices": _fixed({"choices": ["Assistant 1 is right."]}),
    "int-content": _fixed(completion([7])),
    "parts-content": _fixed(
        completion([[{"type": "text", "text": GOOD[:20]}, {"type": "text", "text": GOOD[20:]}]])
    ),
    "bad-parts": _fixed(completion([[{"type": "image_url", "image_url": {"url": "data:,"}}, 3]])),
    "not-object": _fixed([1, 2, 3]),
    "bad-if": _Handler.bad_if,
    "trickle": _Handler.trickle,
    "silent": _Handler.silent,
    "drop": _Handler.drop,
    "retry-after": _Handler.retry_after,
    "retry-after-date": _Handler.retry_after_date,
    "throttle": _Handler.throttle,
    "storm": _Handler.storm,
    "flaky": _Handler.flaky,
    "html": _Handler.html,
    "echo": _Handler.echo,
    "echo-raw": _Handler.echo_raw,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8123)
    port = parser.parse_args().port
    server = FaultyServer(port).start()
    print(f"serving on {server.url('MODE')}  (modes: {', '.join(_MODES)})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
