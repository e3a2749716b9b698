"""The rows that travel through a Ray run: request-file *chunks* in, verdict rows out.

Rules:

* A chunk is ``batch_size`` consecutive positions of a request file (positions as
  :func:`flexjudge.io.read_jsonl` counts them: non-blank lines), exactly the slices that a
  plain ``flexjudge run`` hands to the engine together. A Ray row holds one whole chunk (its
  positions, line numbers and raw line bytes), so however Ray cuts blocks and batches, every
  engine call sees the batch a plain run would: that is what makes the outputs equal.
* The driver reads the file once for the byte offset of each chunk; read tasks seek there and
  slice raw lines. Lines are parsed on the worker, by the same functions as a plain run
  (:func:`flexjudge.io.parse_json_line`, :func:`flexjudge.run.request_from_line`), so bad lines
  become the same error records.
* A verdict row (:data:`VERDICT_SCHEMA`) carries the verdict's main fields as typed columns
  and, in ``verdict``, its JSON line exactly as ``flexjudge run`` writes it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from flexjudge.io import dump_json_line, open_input, parse_json_line
from flexjudge.io.jsonl import JsonLine, _first_line  # the reader's own first-line rule
from flexjudge.run import request_from_line
from flexjudge.verdict import Verdict

CHUNK_SCHEMA = pa.schema(
    [
        ("chunk", pa.int64()),
        ("positions", pa.list_(pa.int64())),
        ("numbers", pa.list_(pa.int64())),
        ("lines", pa.list_(pa.binary())),
    ]
)

VERDICT_SCHEMA = pa.schema(
    [
        ("position", pa.int64()),
        ("id", pa.string()),
        ("task", pa.string()),
        ("status", pa.string()),
        ("winner", pa.string()),
        ("label", pa.string()),
        ("scores", pa.list_(pa.float64())),
        ("ranking", pa.list_(pa.string())),
        ("agreement", pa.float64()),
        ("order_agreement", pa.bool_()),
        ("n_votes", pa.int64()),
        ("n_valid", pa.int64()),
        ("error", pa.string()),
        ("verdict", pa.string()),
    ]
)
_TYPED = [f.name for f in VERDICT_SCHEMA if f.name not in ("position", "id", "verdict")]


@dataclass(frozen=True)
class ChunkStart:
    """Where a chunk begins in the file: byte offset, line number and position."""

    offset: int
    number: int
    position: int


def chunk_starts(path: Path, batch_size: int, what: str = "request file") -> list[ChunkStart]:
    """The start of every chunk of ``batch_size`` positions (one pass, nothing parsed)."""
    starts: list[ChunkStart] = []
    position, offset = 0, 0
    with open_input(path, what) as fh:
        for number, raw in enumerate(fh, start=1):
            line = _first_line(raw, path, what) if number == 1 else raw
            if line.strip():
                if position % batch_size == 0:
                    starts.append(ChunkStart(offset, number, position))
                position += 1
            offset += len(raw)
    return starts


def read_chunks(
    path: Path, start: ChunkStart, first: int, stop: int, batch_size: int
) -> Iterator[pa.Table]:
    """Chunks ``first`` (which begins at ``start``) to ``stop - 1``, one single-row table each."""
    with open_input(path, "request file") as fh:
        fh.seek(start.offset)
        number, position = start.number, start.position
        for chunk in range(first, stop):
            positions: list[int] = []
            numbers: list[int] = []
            lines: list[bytes] = []
            while len(positions) < batch_size:
                raw = fh.readline()
                if not raw:
                    break
                if (_first_line(raw, path, "request file") if number == 1 else raw).strip():
                    positions.append(position)
                    numbers.append(number)
                    lines.append(raw)
                    position += 1
                number += 1
            row = {"chunk": [chunk], "positions": [positions], "numbers": [numbers]}
            yield pa.table({**row, "lines": [lines]}, schema=CHUNK_SCHEMA)


def parse_line(raw: bytes, number: int, path: Path) -> JsonLine:
    """One raw line as :func:`flexjudge.io.read_jsonl` would read it."""
    return parse_json_line(
        _first_line(raw, path, "request file") if number == 1 else raw, number=number, path=path
    )


def chunk_items(
    table: pa.Table, path: Path, defaults: Mapping[str, Any]
) -> Iterator[tuple[list[int], list[Any]]]:
    """(positions, requests or error verdicts) of each chunk row of ``table``."""
    base = path.parent
    for row in table.to_pylist():
        items = [
            request_from_line(parse_line(raw, number, path), base, defaults)
            for raw, number in zip(row["lines"], row["numbers"])
        ]
        yield row["positions"], items


def verdict_table(
    verdicts: list[Verdict], positions: list[int | None], *, keep_votes: bool = True
) -> pa.Table:
    """Verdict rows (:data:`VERDICT_SCHEMA`); ``verdict`` is the exact output line."""
    columns: dict[str, list[Any]] = {f.name: [] for f in VERDICT_SCHEMA}
    for v, position in zip(verdicts, positions):
        data = v.to_json(votes=keep_votes)
        columns["position"].append(position)
        columns["id"].append(None if v.id is None else str(v.id))
        for name in _TYPED:
            columns[name].append(data.get(name))
        columns["verdict"].append(dump_json_line(data).removesuffix("\n"))
    return pa.table(columns, schema=VERDICT_SCHEMA)


def request_rows(table: pa.Table) -> list[dict[str, Any]]:
    """A batch of a user's request dataset as request dicts: a null column is an absent
    field (Arrow gives every row every column of the dataset)."""
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def verdict_line(row: Mapping[str, Any]) -> str:
    return str(row["verdict"]) + "\n"


def verdict_of(row: Mapping[str, Any]) -> Verdict:
    """The :class:`Verdict` of a verdict row (votes included when the run kept them)."""
    return Verdict.model_validate(json.loads(row["verdict"]))


def source_path(path: str | os.PathLike[str]) -> Path:
    return Path(os.fspath(path)).absolute()
