"""The flexjudge error hierarchy.

    FlexJudgeError
    ├── ConfigError      a setting is unknown or out of range (scale, format, order, sampling)
    ├── InputError       a request or a data row is malformed (names the item and the cause)
    │   └── MediaError   a media file is missing, unreadable or not supported by the model
    ├── OutputError      an output cannot be written (read-only folder, full disk, the path is
    │                    an input or held by another run); the last good output is left intact
    └── EngineError      the engine failed
        ├── ModelLoadError      a checkpoint could not be loaded (says what to pass instead)
        └── ServerUnavailable   a server cannot serve any request now (down, refusing the key,
                                circuit breaker open): retrying items one by one is futile

Unparseable model output is *not* an exception: it becomes an invalid verdict with a
reason (see :mod:`flexjudge.parsing`).
"""

from __future__ import annotations

import os


class FlexJudgeError(Exception):
    """Root of every error flexjudge raises on purpose."""


class ConfigError(FlexJudgeError, ValueError):
    """A setting is unknown or out of range."""


class InputError(FlexJudgeError, ValueError):
    """A request or data row is malformed.

    The message names where (file, line, item, field), then the cause: ``requests.jsonl, line
    5, field 'images': must be a list of paths, got a string``. Each part is also kept as an
    attribute for callers that report errors as records.
    """

    def __init__(
        self,
        cause: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        item: object | None = None,
        field: str | None = None,
    ) -> None:
        self.cause = cause
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.item = item
        self.field = field
        where = [
            part
            for part in (
                self.path,
                None if line is None else f"line {line}",
                None if item is None else f"item {item!r}",
                None if field is None else f"field {field!r}",
            )
            if part
        ]
        super().__init__(f"{', '.join(where)}: {cause}" if where else cause)


class MediaError(InputError):
    """A media file is missing, unreadable, or cannot be taken by the loaded model."""


class OutputError(FlexJudgeError, OSError):
    """An output cannot be written: the folder is read-only, the disk is full, the path is one
    of the inputs, or another run holds it. The last good output is left as it was."""


class EngineError(FlexJudgeError, RuntimeError):
    """The engine failed to generate."""


class ModelLoadError(EngineError):
    """A checkpoint could not be loaded."""


class ServerUnavailable(EngineError):
    """A server cannot serve any request now: it failed many requests in a row (the circuit
    breaker is open), refused the credentials, does not serve the model, or asked to wait
    longer than allowed. Unlike a plain :class:`EngineError`, this is not about one item, so
    the remaining items should fail at once instead of being retried one by one."""
