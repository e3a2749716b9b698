"""Dynamic batching: judge requests from many callers coalesced into one ``Judge.run`` call.

One worker thread owns the judge (it builds it, so the store's SQLite connection is its own).
Callers :meth:`Batcher.submit` judge requests from any thread or event loop and get one
:class:`concurrent.futures.Future` per request. Rules:

* The worker takes the first waiting request, then waits up to ``max_wait`` seconds for more
  to arrive, and judges up to ``max_batch`` of them in one ``Judge.run`` call, whose chunk is
  one engine batch (the judge's ``batch_size`` is ``max_batch``). While a batch runs, new
  requests queue up, so under load batches fill without waiting.
* A request is the unit: its votes and presentation orders are generated in the same engine
  call (that is what ``Judge.run`` does per request), never split across batches.
* At most ``max_queue`` requests wait; :meth:`submit` refuses more with :class:`QueueFull`,
  whose ``retry_after`` estimates when room frees (waiting requests / recent throughput).
* A request whose future was cancelled (its caller gave up at its deadline) before the worker
  reached it is dropped unjudged. One already running finishes, and its completions land in
  the store, so the caller's retry is answered from it.
* A batch that raises (a broken store, a bug) gives each of its requests an ``"error"``
  verdict naming the cause, redacted; nothing escapes as an exception to the caller.
* :meth:`stop` refuses new requests, lets the worker judge everything already accepted, then
  closes the judge: a graceful drain.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from flexjudge.judge.api import Judge
from flexjudge.redact import server_text
from flexjudge.request import JudgeRequest
from flexjudge.run.judge_spec import load_weights
from flexjudge.verdict import Verdict

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """No room for the submitted requests; try again in :attr:`retry_after` seconds."""

    def __init__(self, waiting: int, limit: int, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"the judge queue is full ({waiting} requests waiting, at most {limit}): retry "
            f"after {retry_after} s"
        )


class ShuttingDown(Exception):
    """The batcher is draining and takes no new requests."""


@dataclass
class _Unit:
    request: JudgeRequest
    future: Future[Verdict]


@dataclass
class BatchObserver:
    """Hooks the server's metrics hang on (each defaults to doing nothing)."""

    on_batch: Callable[[int], None] = lambda n: None
    on_verdict: Callable[[Verdict], None] = lambda v: None
    on_queue: Callable[[int], None] = lambda depth: None
    on_store: Callable[[int, int], None] = lambda hits, generated: None


class Batcher:
    """Coalesces concurrent judge requests into engine batches (module rules)."""

    def __init__(
        self,
        make_judge: Callable[[], Judge],
        *,
        max_batch: int = 16,
        max_wait: float = 0.005,
        max_queue: int = 256,
        observer: BatchObserver | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self._make_judge = make_judge
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.observer = observer or BatchObserver()
        self._secrets = tuple(secrets)
        self._queue: deque[_Unit] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._rate = 0.0  # requests per second, a moving average over recent batches
        self.built = threading.Event()  # the judge exists (or could not be built: load_error)
        self.ready = threading.Event()  # ... and its weights are loaded
        self.load_error: str | None = None
        self.model = ""

    # -- callers ---------------------------------------------------------------------------
    def start(self) -> Batcher:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name="flexjudge-batcher", daemon=True
            )
            self._thread.start()
        return self

    def submit(self, requests: Sequence[JudgeRequest]) -> list[Future[Verdict]]:
        """Queue ``requests`` (all or none); one future per request, in order."""
        units = [_Unit(r, Future()) for r in requests]
        with self._cond:
            if self._stopping:
                raise ShuttingDown("the server is shutting down")
            waiting = len(self._queue)
            if waiting + len(units) > self.max_queue:
                raise QueueFull(waiting, self.max_queue, self._retry_after(waiting + len(units)))
            self._queue.extend(units)
            self.observer.on_queue(len(self._queue))
            self._cond.notify()
        return [u.future for u in units]

    def judge(
        self, requests: Sequence[JudgeRequest], timeout: float | None = None
    ) -> list[Verdict]:
        """Submit and wait (for synchronous callers)."""
        return [f.result(timeout) for f in self.submit(requests)]

    @property
    def depth(self) -> int:
        with self._cond:
            return len(self._queue)

    def stop(self, timeout: float | None = None) -> bool:
        """Drain: refuse new requests, judge those accepted, close the judge. Returns whether
        the worker finished within ``timeout``."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _retry_after(self, waiting: int) -> int:
        rate = self._rate if self._rate > 0 else 1.0
        return max(1, min(60, math.ceil(waiting / rate)))

    # -- the worker ------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            judge = self._make_judge()
        except Exception as exc:
            self.load_error = f"the judge could not be built: {self._text(exc)}"
            log.error("%s", self.load_error)
            self.built.set()
            self._fail_forever()
            return
        self.model = judge.engine.info.model
        self.built.set()
        try:
            load_weights(judge.base_engine)
            self.ready.set()
        except Exception as exc:  # the engine names it; requests get error verdicts from it too
            self.load_error = self._text(exc)
            log.error("the weights did not load: %s", self.load_error)
        try:
            while batch := self._take():
                self._judge(judge, batch)
        finally:
            judge.close()

    def _take(self) -> list[_Unit]:
        """The next batch (module rules); empty when stopping and nothing is left."""
        with self._cond:
            while True:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return []
                end = time.monotonic() + self.max_wait
                while len(self._queue) < self.max_batch and not self._stopping:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch: list[_Unit] = []
                while self._queue and len(batch) < self.max_batch:
                    unit = self._queue.popleft()
                    if unit.future.set_running_or_notify_cancel():  # False: its caller gave up
                        batch.append(unit)
                self.observer.on_queue(len(self._queue))
                if batch:
                    return batch

    def _judge(self, judge: Judge, batch: list[_Unit]) -> None:
        started = time.monotonic()
        self.observer.on_batch(len(batch))
        stats = judge.cache_stats
        before = (stats.hits, stats.generated) if stats else (0, 0)
        requests = [u.request for u in batch]
        try:
            verdicts = list(judge.run(requests))
            if len(verdicts) != len(requests):
                raise RuntimeError(f"{len(verdicts)} verdicts for {len(requests)} requests")
        except Exception as exc:
            cause = self._text(exc)
            log.error("a batch of %d failed: %s", len(batch), cause)
            verdicts = [
                Verdict.failed(r.id, r.task.value, f"the judge failed: {cause}") for r in requests
            ]
        for unit, verdict in zip(batch, verdicts):
            self.observer.on_verdict(verdict)
            unit.future.set_result(verdict)
        if stats:
            self.observer.on_store(stats.hits - before[0], stats.generated - before[1])
        seconds = max(time.monotonic() - started, 1e-6)
        rate = len(batch) / seconds
        self._rate = rate if self._rate == 0 else 0.8 * self._rate + 0.2 * rate

    def _fail_forever(self) -> None:
        """Without a judge, answer every request with an error verdict until stopped."""
        while batch := self._take():
            for unit in batch:
                req = unit.request
                unit.future.set_result(Verdict.failed(req.id, req.task.value, str(self.load_error)))

    def _text(self, exc: BaseException) -> str:
        return server_text(str(exc) or type(exc).__name__, self._secrets, 300)
