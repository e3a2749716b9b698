"""The one JSONL reader.

Rules, the same for every file flexjudge reads (requests, benchmark records, training rows,
traces, verdicts):

* Lines are numbered from 1; blank lines are skipped but counted.
* The file must be UTF-8. A UTF-8 byte-order mark is dropped (it used to cost the first line);
  a UTF-16 or UTF-32 file is refused as a whole, saying so. A line that is not valid UTF-8 is a
  bad line.
* A line must hold one JSON value (``NaN`` and ``Infinity`` are not JSON), nested at most
  :data:`MAX_DEPTH` deep, and, where objects are expected, an object.
* A bad line is reported as an :class:`~flexjudge.errors.InputError` naming the file, the line
  and the cause. :func:`read_jsonl` yields it in place so a batch goes on (``run`` turns it
  into an error record); :func:`iter_json_objects` with ``strict=True`` raises it.
* A path that is missing, a folder, or not a regular file (a FIFO, a device) raises at once.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flexjudge.errors import InputError
from flexjudge.io.outputs import open_input

#: Deepest nesting accepted in one line; deeper JSON is refused before the parser recurses.
MAX_DEPTH = 200

_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line: its number and either its value or the error that explains it."""

    number: int
    value: Any = None
    error: InputError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(raw: str) -> bool:
    """Whether brackets nest deeper than :data:`MAX_DEPTH` (strings skipped); cheap and
    iterative, so a 100,000-deep line cannot exhaust the parser's recursion."""
    depth = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def parse_json_line(
    raw: bytes | str, *, number: int, path: str | os.PathLike[str], objects: bool = True
) -> JsonLine:
    """Parse one line (bytes as read, or text) into a :class:`JsonLine`."""

    def bad(cause: str) -> JsonLine:
        return JsonLine(number, error=InputError(cause, path=path, line=number))

    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return bad(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")
    else:
        text = raw
    if _too_deep(text):
        return bad(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return bad(f"not valid JSON ({exc.msg} at column {exc.colno})")
    except (ValueError, RecursionError) as exc:
        return bad(f"not valid JSON ({exc})")
    if objects and not isinstance(value, dict):
        return bad(f"expected a JSON object, got {_json_type(value)}")
    return JsonLine(number, value)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


def _first_line(raw: bytes, path: str | os.PathLike[str], what: str) -> bytes:
    """The first line without a UTF-8 BOM; a UTF-16/32 file is refused whole."""
    for bom, name in _WIDE_BOMS.items():
        if raw.startswith(bom):
            raise InputError(f"{what} is {name}-encoded; save it as UTF-8", path=path)
    raw = raw.removeprefix(_UTF8_BOM)
    if b"\x00" in raw:
        raise InputError(
            f"{what} holds NUL bytes (UTF-16 without a byte-order mark?); save it as UTF-8",
            path=path,
        )
    return raw


def read_jsonl(
    path: str | os.PathLike[str], *, objects: bool = True, what: str = "file"
) -> Iterator[JsonLine]:
    """Yield a :class:`JsonLine` per non-blank line (module rules). ``what`` names the file in
    whole-file errors ("request file", "predictions file"...)."""
    with open_input(path, what) as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1:
                raw = _first_line(raw, path, what)
            if not raw.strip():
                continue
            yield parse_json_line(raw, number=number, path=path, objects=objects)


def count_lines(path: str | os.PathLike[str], what: str = "file") -> int:
    """How many lines :func:`read_jsonl` yields for ``path`` (non-blank ones), without parsing."""
    n = 0
    with open_input(path, what) as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1:
                raw = _first_line(raw, path, what)
            n += bool(raw.strip())
    return n


def iter_json_objects(
    path: str | os.PathLike[str], *, what: str = "file"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` per non-blank line; the first bad line raises its
    :class:`~flexjudge.errors.InputError` (for files read whole, such as benchmark data)."""
    for line in read_jsonl(path, what=what):
        if line.error is not None:
            raise line.error
        yield line.number, line.value


def dump_json_line(obj: Any) -> str:
    """One JSON line (``\\n`` included): UTF-8 text kept as is, and never ``NaN``/``Infinity``
    (which are not JSON: a non-finite number is a bug upstream and raises here)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n"


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
