"""Progress of long work on a terminal: items done, invalid and error counts, items per
second. Shown on stderr only when stderr is a terminal (CI logs stay short) and not
``--quiet``; machine-readable output on stdout is never touched."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any


def progress_wanted(quiet: bool = False) -> bool:
    return not quiet and sys.stderr.isatty()


class RunProgress:
    """A rich progress bar over ``total`` items (``None``: unknown) labelled ``label``; a
    no-op when disabled. :meth:`advance` takes the item's status (ok / invalid / error)."""

    def __init__(self, label: str, total: int | None, *, enabled: bool) -> None:
        self.label = label
        self.counts = {"ok": 0, "invalid": 0, "error": 0}
        self.start = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task(label, total=total, detail="")

    def advance(self, status: str = "ok") -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        if self._bar is None:
            return
        done = sum(self.counts.values())
        rate = done / max(1e-9, time.perf_counter() - self.start)
        detail = f"invalid {self.counts['invalid']} error {self.counts['error']} {rate:.2f}/s"
        self._bar.update(self._task, advance=1, detail=detail)

    def __enter__(self) -> RunProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
