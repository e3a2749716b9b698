"""Writing a Ray run's verdict rows on the driver: one file, in input order, atomically.

* Rows may arrive out of order (Ray finishes chunks when it finishes them); rows that carry a
  ``position`` are put back in order through a buffer, and a position that never arrives is an
  error, never a silently shorter output. Rows without one (a user's dataset) keep the order
  they come in.
* ``OUT.jsonl`` (any suffix but ``.parquet``) gets the verdict lines of a plain
  ``flexjudge run``; ``OUT.parquet`` one Parquet file of the typed verdict rows
  (:data:`~._chunks.VERDICT_SCHEMA`). Both go through ``OUT.partial`` and are renamed into place
  only when complete, like every flexjudge output.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from flexjudge.errors import OutputError
from flexjudge.io import AtomicWriter
from flexjudge.io.outputs import PARTIAL_SUFFIX
from flexjudge.scale._chunks import VERDICT_SCHEMA, verdict_line

Row = dict[str, Any]
_ROW_GROUP = 4096


def in_order(rows: Iterable[Row], total: int | None = None) -> Iterator[Row]:
    """``rows`` by ``position`` (module rules); ``total``: how many positions there are."""
    pending: dict[int, Row] = {}
    expected = 0
    for row in rows:
        position = row.get("position")
        if position is None:
            yield row
            continue
        pending[position] = row
        while expected in pending:
            yield pending.pop(expected)
            expected += 1
    if pending or (total is not None and expected < total):
        raise OutputError(
            f"the Ray run returned no verdict for position {expected} (of "
            f"{total if total is not None else 'unknown'}); the output was not written"
        )


class VerdictWriter:
    """``write(row)`` per verdict row, then ``commit()`` (or leave the ``with`` block)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.parquet = target.suffix == ".parquet"
        self._text: AtomicWriter | None = None
        self._rows: list[Row] = []
        self._pq: pq.ParquetWriter | None = None
        self.partial = target.with_name(target.name + PARTIAL_SUFFIX)
        if not self.parquet:
            self._text = AtomicWriter(target)
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._pq = pq.ParquetWriter(self.partial, VERDICT_SCHEMA)
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.partial)!r}: {exc}") from exc

    def write(self, row: Row) -> None:
        if self._text is not None:
            self._text.write(verdict_line(row))
            return
        self._rows.append(row)
        if len(self._rows) >= _ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._rows and self._pq is not None:
            self._pq.write_table(pa.Table.from_pylist(self._rows, schema=VERDICT_SCHEMA))
            self._rows = []

    def commit(self) -> None:
        if self._text is not None:
            self._text.commit()
            return
        self._flush()
        writer, self._pq = self._pq, None
        if writer is None:
            return
        try:
            writer.close()
            with open(self.partial, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(self.partial, self.target)
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.target)!r}: {exc}") from exc

    def close(self) -> None:
        """Leave the target as it was (a failed run)."""
        if self._text is not None:
            self._text.close()
        writer, self._pq = self._pq, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()

    def __enter__(self) -> VerdictWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.close()
