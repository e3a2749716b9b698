"""A run as the report sees it: verdicts, matched by id to what was judged and to the gold.

Two layouts are read:

* an **eval run folder** (``flexjudge eval --output RUN_DIR``): ``verdicts.jsonl``, and when
  present ``metrics.json``, ``report.md`` and ``items.jsonl``;
* a **plain run output** (``flexjudge run … --output OUT.jsonl``): the verdict file, and when
  present ``OUT.run.json`` (the run's settings and timings; its ``requests`` names the request
  file) and ``OUT.items.jsonl``. ``requests=`` / ``items=`` name the file of requests
  explicitly (``flexjudge report OUT.jsonl --requests requests.jsonl``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge.bench.verdicts import iter_verdict_objects
from flexjudge.errors import InputError
from flexjudge.run.items import Gold, read_items

__all__ = ["Run", "RunItem", "load_run"]


@dataclass
class RunItem:
    """One verdict with what the report knows about its request."""

    id: str
    verdict: dict[str, Any]
    request: dict[str, Any] | None = None
    gold: Gold | None = None
    group: str | None = None
    line: int = 0  #: the verdict's line in the verdict file


@dataclass
class Run:
    verdicts_path: Path
    items: list[RunItem]
    kind: str  #: "eval" (a run folder) or "run" (a plain verdict file)
    metrics: dict[str, Any] | None = None  #: metrics.json
    manifest: dict[str, Any] | None = None  #: OUT.run.json of a plain run
    report_md: str | None = None
    items_path: Path | None = None
    unmatched_items: int = 0  #: lines of the items file with no verdict
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.kind == "eval":
            return self.verdicts_path.parent.name
        return self.verdicts_path.name

    @property
    def has_gold(self) -> bool:
        return any(i.gold is not None for i in self.items)

    def info(self, key: str) -> Any:
        """A top-level field of metrics.json, else of the run manifest."""
        for source in (self.metrics, self.manifest):
            if source and source.get(key) is not None:
                return source[key]
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a JSON object")
    return obj


def load_run(
    path: Path | str, *, items: Path | str | None = None, requests: Path | str | None = None
) -> Run:
    """Read a run folder or a verdict file (see the module docstring)."""
    path = Path(path)
    if items is not None and requests is not None:
        raise InputError("pass items or requests, not both: both name what was judged")
    if path.is_dir():
        verdicts = path / "verdicts.jsonl"
        if not verdicts.is_file():
            raise InputError(
                f"{path} has no verdicts.jsonl: pass a folder `flexjudge eval --output` wrote, "
                "or a `flexjudge run` output file"
            )
        run = Run(verdicts, [], "eval", _read_json(path / "metrics.json"))
        md = path / "report.md"
        run.report_md = md.read_text(encoding="utf-8") if md.is_file() else None
        found = path / "items.jsonl"
    elif path.is_file():
        run = Run(path, [], "run", manifest=_read_json(path.with_suffix(".run.json")))
        found = path.with_suffix(".items.jsonl")
        named = (run.manifest or {}).get("requests")
        if not found.is_file() and named:
            found = Path(named)
            if not found.is_absolute():
                found = path.parent / found
    else:
        raise InputError(f"{path}: no such run folder or verdict file")
    named_file = items if items is not None else requests
    source = Path(named_file) if named_file is not None else found
    if named_file is not None and not source.is_file():
        raise InputError(f"{source}: no such items or request file")
    run.items = _verdict_items(path if path.is_file() else run.verdicts_path)
    if source.is_file():
        run.items_path = source
        _attach(run, source)
    elif source != found or (run.manifest or {}).get("requests"):
        run.notes.append(f"the request file {source} is gone: requests are not shown")
    return run


def _verdict_items(path: Path) -> list[RunItem]:
    out: list[RunItem] = []
    seen: set[str] = set()
    for obj in iter_verdict_objects(path):
        key = str(obj["id"])
        if key in seen:
            raise InputError(f"{path}, line {obj['_line']}: duplicate verdict id {key!r}")
        seen.add(key)
        out.append(RunItem(key, obj, line=int(obj.pop("_line"))))
    return out


def _attach(run: Run, source: Path) -> None:
    by_id = {item.id: item for item in run.items}
    for record in read_items(source):
        item = by_id.get(record.id)
        if item is None:
            run.unmatched_items += 1
            continue
        item.request, item.gold, item.group = record.request, record.gold, record.group
    missing = sum(item.request is None for item in run.items)
    if missing:
        run.notes.append(f"{missing} verdicts have no line in {source.name}")
    if run.unmatched_items:
        run.notes.append(f"{run.unmatched_items} lines of {source.name} have no verdict")
