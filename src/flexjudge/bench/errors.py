"""The one error class of the benchmark layer: a thin :class:`~flexjudge.errors.InputError`."""

from __future__ import annotations

import os

from flexjudge.errors import InputError


class BenchmarkDataError(InputError):
    """A benchmark or predictions file is missing, malformed, or does not match its benchmark.

    The message names the file and, where known, the line (JSONL, 1-based) or the item (id or
    index in a JSON array), then the cause; each part is kept as an attribute, as on every
    :class:`~flexjudge.errors.InputError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        cause: str,
        *,
        line: int | None = None,
        item: object | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(cause, path=path, line=line, item=item, field=field)

    @classmethod
    def of(cls, exc: InputError) -> BenchmarkDataError:
        """The same error (path, line, item, field, cause) as a benchmark data error, for the
        readers of :mod:`flexjudge.io`, whose errors are plain :class:`InputError` s."""
        if isinstance(exc, cls):
            return exc
        new = cls(exc.path or "", exc.cause, line=exc.line, item=exc.item, field=exc.field)
        if exc.path is None:  # keep the message as it was: no empty path in front
            new.args = exc.args
            new.path = None
        return new
