"""The one error class of the benchmark layer."""

from __future__ import annotations

from pathlib import Path

from flexjudge.errors import InputError


class BenchmarkDataError(InputError):
    """A benchmark or predictions file is missing, malformed, or does not match its benchmark.

    The message always names the file and, where known, the line (JSONL, 1-based) or the item
    (id or index in a JSON array), then the cause.
    """

    def __init__(
        self,
        path: Path | str,
        cause: str,
        *,
        line: int | None = None,
        item: object | None = None,
    ) -> None:
        self.path = Path(path)
        self.cause = cause
        self.line = line
        self.item = item
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if item is not None:
            where += f", item {item!r}"
        super().__init__(f"{where}: {cause}")
