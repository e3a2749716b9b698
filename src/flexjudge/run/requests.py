"""Read request files (JSONL, one :class:`~flexjudge.request.JudgeRequest` per line), lazily.

A line that is not valid JSON or not a valid request becomes an ``"error"`` verdict naming
the line number and the cause, in place, so that a batch goes on without it. Relative media
paths are resolved against the request file's folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flexjudge.errors import InputError
from flexjudge.judge.pipeline import error_verdict
from flexjudge.request import JudgeRequest
from flexjudge.verdict import Verdict

_MEDIA_FIELDS = ("images", "videos", "audios")


def read_requests(
    path: str | Path, defaults: dict[str, Any] | None = None
) -> Iterator[JudgeRequest | Verdict]:
    """Yield a request (or an error verdict) per non-blank line; fields absent from a line
    take ``defaults`` (e.g. the CLI's ``--scale``)."""
    path = Path(path)
    base = path.parent
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            yield parse_request_line(line, lineno, base, defaults or {})


def parse_request_line(
    line: str, lineno: int, base: Path, defaults: dict[str, Any]
) -> JudgeRequest | Verdict:
    where = f"line {lineno}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return error_verdict(
            where, "", f"{where}: not valid JSON ({exc.msg} at column {exc.colno})"
        )
    if not isinstance(obj, dict):
        return error_verdict(
            where, "", f"{where}: expected a JSON object, got {type(obj).__name__}"
        )
    rid = obj.get("id")
    fields = {**{k: v for k, v in defaults.items() if v is not None}, **obj}
    fields.setdefault("id", where)
    for key in _MEDIA_FIELDS:
        fields[key] = [_resolve(base, p) for p in fields.get(key) or []]
    responses = fields.get("responses")
    if isinstance(responses, list):
        fields["responses"] = [_resolve_candidate(base, r) for r in responses]
    try:
        return JudgeRequest.build(**fields)
    except InputError as exc:
        return error_verdict(
            str(rid) if rid is not None else where, str(obj.get("task", "")), f"{where}: {exc}"
        )


def _resolve(base: Path, value: Any) -> Any:
    if isinstance(value, str) and not Path(value).is_absolute():
        return str(base / value)
    return value


def _resolve_candidate(base: Path, value: Any) -> Any:
    if isinstance(value, dict):
        value = dict(value)
        for key in _MEDIA_FIELDS:
            if key in value:
                value[key] = [_resolve(base, p) for p in value[key] or []]
    return value


def count_lines(path: str | Path) -> int:
    with Path(path).open("rb") as fh:
        return sum(1 for line in fh if line.strip())
