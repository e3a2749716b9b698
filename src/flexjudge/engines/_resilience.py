"""What keeps a client of a faulty server bounded: a circuit breaker, ``Retry-After`` parsing,
range checks for the options that bound it, and a blocking runner that works inside a
running event loop. Used by :mod:`flexjudge.engines.openai`."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import threading
import time
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, TypeVar

from flexjudge.errors import ConfigError, ServerUnavailable

log = logging.getLogger("flexjudge.engines.openai")

T = TypeVar("T")


class CircuitBreaker:
    """Consecutive failed attempts at one server. Open after ``threshold`` of them: requests
    then fail at once, except one probe every ``cooldown`` seconds; a success closes it.
    Shared by every call on one engine (and thread-safe: a blocking :meth:`generate` inside a
    running loop runs on a worker thread)."""

    def __init__(self, threshold: int, cooldown: float, url: str) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.url = url
        self.failures = 0
        self.last = ""
        self.opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def admit(self) -> bool:
        """Whether the request to send now is the probe of an open breaker; raises
        ServerUnavailable when no request may be sent."""
        with self._lock:
            if self.opened_at is None:
                return False
            waited = time.monotonic() - self.opened_at
            if waited >= self.cooldown and not self._probing:
                self._probing = True
                return True
            raise ServerUnavailable(
                f"circuit breaker open for {self.url}: {self.failures} consecutive failed "
                f"attempts (last: {self.last}); not sending more for "
                f"{max(0.0, self.cooldown - waited):.0f} s"
            )

    def success(self) -> None:
        with self._lock:
            if self.opened_at is not None:
                log.info("%s answered again: circuit breaker closed", self.url)
            self.failures, self.opened_at, self._probing = 0, None, False

    def end_probe(self) -> None:
        """The probe's answer is in (its success or failure is recorded separately)."""
        with self._lock:
            self._probing = False

    def failure(self, why: str) -> None:
        with self._lock:
            self.failures += 1
            self.last = why
            # A failure while open (a probe, or a request sent before it opened) restarts
            # the cooldown.
            if self.opened_at is not None or self.failures >= self.threshold:
                if self.opened_at is None:
                    log.warning(
                        "%s: %d consecutive failed attempts (last: %s); circuit breaker open",
                        self.url,
                        self.failures,
                        why,
                    )
                self.opened_at, self._probing = time.monotonic(), False


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a server asks to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or as
    an HTTP date; None when absent or unreadable."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000
            if math.isfinite(value):
                return max(0.0, value)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw.strip())
        return max(0.0, value) if math.isfinite(value) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def check_ranges(**opts: Any) -> None:
    """Range checks of the engine's options, naming the option (ConfigError)."""
    rules: dict[str, tuple[float, float | None, bool]] = {
        # name: (lowest, highest, lowest excluded)
        "concurrency": (1, None, False),
        "timeout": (0, None, True),
        "connect_timeout": (0, None, True),
        "max_retries": (0, 20, False),
        "retry_after_cap": (0, None, False),
        "breaker_threshold": (1, None, False),
        "breaker_cooldown": (0, None, False),
        "total_timeout": (0, None, True),
        "backoff": (0, None, False),
    }
    integral = {"concurrency", "max_retries", "breaker_threshold"}
    for name, value in opts.items():
        if value is None and name == "total_timeout":
            continue
        low, high, open_low = rules[name]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (name in integral and not isinstance(value, int)):
            kind = "an integer" if name in integral else "a number"
            raise ConfigError(f"{name} must be {kind}, got {value!r}")
        bad = (
            not math.isfinite(value)
            or (value <= low if open_low else value < low)
            or (high is not None and value > high)
        )
        if bad:
            where = f"{'>' if open_low else '>='} {low:g}" + (
                f" and <= {high:g}" if high is not None else ""
            )
            raise ConfigError(f"{name} must be {where}, got {value!r}")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, also when this thread already
    runs an event loop (a notebook, an async app), where ``asyncio.run`` refuses: then on a
    private loop in a worker thread, blocking the caller until it is done."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="flexjudge-openai") as pool:
        return pool.submit(asyncio.run, coro).result()
