"""Request files (``flexjudge run``): JSONL, one :class:`~flexjudge.request.JudgeRequest` per
line, read lazily.

* A line that is not valid JSON, not an object or not a valid request becomes an ``"error"``
  verdict in its place, naming the line and the cause, so a batch goes on without it
  (:mod:`flexjudge.io.jsonl` decides what a bad line is).
* Relative media paths - images, videos, audios, and molecule *files* (``.mol``, ``.sdf``,
  ``.smi``...; any other molecule string is SMILES) - are resolved against the request file's
  folder, never the working directory, in the shared fields and in every response.
* Fields absent from a line take the caller's defaults (the CLI's ``--scale``...).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flexjudge.errors import InputError
from flexjudge.io import read_jsonl
from flexjudge.io.jsonl import JsonLine
from flexjudge.request import JudgeRequest, check_id
from flexjudge.verdict import Verdict

_PATH_FIELDS = ("images", "videos", "audios")


def read_requests(
    path: str | os.PathLike[str], defaults: Mapping[str, Any] | None = None
) -> Iterator[JudgeRequest | Verdict]:
    """Yield a request (or an error verdict) per non-blank line (module rules)."""
    base = Path(path).parent
    for line in read_jsonl(path, what="request file"):
        yield request_from_line(line, base, defaults or {})


def request_from_line(
    line: JsonLine, base: Path, defaults: Mapping[str, Any]
) -> JudgeRequest | Verdict:
    where = f"line {line.number}"
    if line.error is not None:
        return Verdict.failed(where, "", f"{where}: {line.error.cause}")
    obj: dict[str, Any] = line.value
    try:
        rid = check_id(obj.get("id"))
    except ValueError as exc:
        return Verdict.failed(where, _task(obj), f"{where}: {exc}")
    fields = {**{k: v for k, v in defaults.items() if v is not None}, **obj}
    fields["id"] = rid if rid is not None else where
    try:
        resolved = resolve_media_fields(fields, base)
        return JudgeRequest.build(**resolved)
    except InputError as exc:
        return Verdict.failed(fields["id"], _task(obj), f"{where}: {exc}")


def _task(obj: Mapping[str, Any]) -> str:
    task = obj.get("task")
    return task if isinstance(task, str) else ""


def _resolve(base: Path, value: Any) -> Any:
    if isinstance(value, str) and value and not Path(value).is_absolute():
        return str(base / value)
    return value


def _resolve_molecule(base: Path, value: Any) -> Any:
    from flexjudge.media.molecules import is_molecule_file

    if isinstance(value, str) and is_molecule_file(value):
        return _resolve(base, value)
    return value


def _resolve_lists(fields: dict[str, Any], base: Path) -> dict[str, Any]:
    """Media lists resolved against ``base``; a value that is not a list is left for the
    request schema to refuse with its own message."""
    out = dict(fields)
    for key in _PATH_FIELDS:
        if isinstance(out.get(key), list):
            out[key] = [_resolve(base, p) for p in out[key]]
    if isinstance(out.get("molecules"), list):
        out["molecules"] = [_resolve_molecule(base, m) for m in out["molecules"]]
    return out


def resolve_media_fields(fields: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Request fields with every relative media path joined to ``base`` (module rules)."""
    out = _resolve_lists(dict(fields), base)
    responses = out.get("responses")
    if isinstance(responses, list):
        out["responses"] = [
            _resolve_lists(r, base) if isinstance(r, dict) else r for r in responses
        ]
    return out
