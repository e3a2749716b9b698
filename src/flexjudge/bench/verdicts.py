"""Reading flexjudge's own verdict JSONL (a run's ``verdicts.jsonl``, or its shards') back for
scoring: every line checked against the verdict schema, votes kept."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.records import iter_jsonl
from flexjudge.prompts.protocol import LABELS

__all__ = ["VERDICT_LABELS", "iter_verdict_objects", "looks_like_verdicts"]

#: The four verdict labels flexjudge writes.
VERDICT_LABELS: tuple[str, ...] = LABELS

_STATUSES = ("ok", "invalid", "error")
_WINNERS = ("A", "B", "tie")


def looks_like_verdicts(first: dict[str, Any] | None) -> bool:
    """Whether a JSONL file's first object is a flexjudge verdict (it has a ``status``)."""
    return first is not None and "status" in first


def _finite_numbers(scores: object) -> bool:
    return isinstance(scores, list) and all(
        isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) for s in scores
    )


def iter_verdict_objects(path: Path | str) -> Iterator[dict[str, Any]]:
    """Stream a flexjudge verdict JSONL as checked JSON objects (votes kept), each with its
    line number under ``"_line"``; a field outside its vocabulary raises naming the line."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path, what="verdict file"):

        def fail(cause: str, lineno: int = lineno) -> BenchmarkDataError:
            return BenchmarkDataError(path, cause, line=lineno)

        for key in ("id", "status", "winner", "label", "scores"):
            if key not in obj:
                raise fail(f"missing field {key!r}")
        vid = obj["id"]
        if vid is None:
            raise fail("id is null, so the verdict cannot be matched to a benchmark item")
        if isinstance(vid, bool) or not isinstance(vid, (str, int)):
            raise fail(f"id must be a string or integer, got {vid!r}")
        if obj["status"] not in _STATUSES:
            raise fail(f"status {obj['status']!r} is not one of {list(_STATUSES)}")
        if obj["winner"] is not None and obj["winner"] not in _WINNERS:
            raise fail(f"winner {obj['winner']!r} is not one of {list(_WINNERS)} or null")
        if obj["label"] is not None and obj["label"] not in VERDICT_LABELS:
            raise fail(f"label {obj['label']!r} is not one of {list(VERDICT_LABELS)} or null")
        if obj["scores"] is not None and not _finite_numbers(obj["scores"]):
            raise fail(f"scores must be a list of finite numbers or null, got {obj['scores']!r}")
        votes = obj.get("votes") or []
        if not isinstance(votes, list) or not all(isinstance(v, dict) for v in votes):
            raise fail("votes must be a list of objects")
        obj["_line"] = lineno
        yield obj
