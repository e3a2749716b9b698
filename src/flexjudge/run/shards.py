"""Sharded runs: which requests a shard judges, where it writes, and merging the outputs.

Rules:

* A request file's non-blank lines are numbered 0, 1, 2, ... (their *position*, the order of
  the output). Shard ``i/n`` judges the positions ``p`` with ``p % n == i``: every line belongs
  to exactly one shard, whatever the file holds.
* The shard comes from ``--shard i/n``, else from ``RANK``/``WORLD_SIZE`` (torchrun), else from
  ``SLURM_ARRAY_TASK_ID``/``SLURM_ARRAY_TASK_COUNT`` (minus ``SLURM_ARRAY_TASK_MIN``), each only
  when set. One shard in all (``n == 1``) is an unsharded run.
* Shard ``i/n`` of ``out.jsonl`` writes ``out.shard-i-of-n.jsonl`` (and its store
  ``out.shard-i-of-n.sqlite``). Each row is the verdict plus a ``"shard"`` record (index,
  count, position, total, a digest of the request file) that :func:`merge_outputs` checks and
  removes, so that the merged file equals an unsharded run's output line for line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge.errors import ConfigError, InputError, OutputError
from flexjudge.io import AtomicWriter, dump_json_line, read_jsonl, same_file

SHARD_FIELD = "shard"
_SHOW = 5  # offending items named in an error message


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    origin: str = "--shard"
    """Where the shard came from (for messages): ``--shard``, ``RANK/WORLD_SIZE`` or Slurm."""

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(
                f"shard {self.index}/{self.count} (from {self.origin}) is out of "
                f"range: use i/n with 0 <= i < n"
            )

    def owns(self, position: int) -> bool:
        return position % self.count == self.index

    def size(self, total: int) -> int:
        """How many of ``total`` positions this shard owns."""
        return len(range(self.index, total, self.count))

    def path(self, path: Path) -> Path:
        """``out.jsonl`` -> ``out.shard-i-of-n.jsonl``."""
        return path.with_name(f"{path.stem}.shard-{self.index}-of-{self.count}{path.suffix}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            i, n = (int(x) for x in text.split("/"))
        except ValueError:
            raise ConfigError(f"--shard {text!r}: use i/n, e.g. 0/4 (shards 0 to n-1)") from None
        return cls(i, n)


def resolve_shard(option: str | None, env: Mapping[str, str] = os.environ) -> Shard | None:
    """The shard of this process (module rules), or None for an unsharded run."""
    if option:
        shard = Shard.parse(option)
    elif env.get("RANK") and env.get("WORLD_SIZE"):
        shard = Shard(_int(env, "RANK"), _int(env, "WORLD_SIZE"), "RANK/WORLD_SIZE")
    elif env.get("SLURM_ARRAY_TASK_ID") and env.get("SLURM_ARRAY_TASK_COUNT"):
        first = _int(env, "SLURM_ARRAY_TASK_MIN") if env.get("SLURM_ARRAY_TASK_MIN") else 0
        index, count = _int(env, "SLURM_ARRAY_TASK_ID") - first, _int(env, "SLURM_ARRAY_TASK_COUNT")
        if not 0 <= index < count:
            raise ConfigError(
                f"Slurm array task {env['SLURM_ARRAY_TASK_ID']} is not one of {count} consecutive "
                "tasks: use a contiguous array (--array=0-N) or pass --shard i/n"
            )
        shard = Shard(index, count, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT")
    else:
        return None
    return shard if shard.count > 1 else None


def _int(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise ConfigError(f"environment variable {name}={env[name]!r} is not an integer") from None


@dataclass(frozen=True)
class RequestFile:
    """What every shard of one request file agrees on."""

    total: int
    """Non-blank lines (counted as :func:`flexjudge.io.read_jsonl` reads them)."""
    digest: str
    """The first 16 hex digits of the file's sha256."""


def request_file(path: Path) -> RequestFile:
    """The line count and digest of a request file (an InputError when it cannot be read)."""
    from flexjudge.io import open_input
    from flexjudge.io.jsonl import count_lines

    h = hashlib.sha256()
    with open_input(path, "request file") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return RequestFile(count_lines(path, "request file"), h.hexdigest()[:16])


def shard_record(shard: Shard, position: int, source: RequestFile) -> dict[str, Any]:
    return {
        "index": shard.index,
        "count": shard.count,
        "position": position,
        "total": source.total,
        "requests": source.digest,
    }


# -- merging ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MergeResult:
    rows: int
    shards: int


class _MergeCheck:
    """What the shard outputs hold, checked row by row (see :func:`merge_outputs`)."""

    def __init__(self) -> None:
        self.common: dict[str, Any] | None = None
        self.seen: dict[int, tuple[str, int, Any]] = {}  # position -> (file, line, id)
        self.dups: list[str] = []
        self.n_dups = 0
        self.by_shard: dict[int, Path] = {}

    def scan(self, path: Path) -> None:
        last = -1
        for lineno, obj in _rows(path):
            rec = obj.get(SHARD_FIELD)
            if (
                not isinstance(rec, dict)
                or not {"index", "count", "position", "total", "requests"} <= rec.keys()
            ):
                raise InputError(
                    f"{path}:{lineno}: no shard record; merge takes the outputs of "
                    "`flexjudge run --shard i/n`"
                )
            common = self._agree(path, lineno, rec)
            index, pos = rec["index"], rec["position"]
            if self.by_shard.setdefault(index, path) != path:
                raise InputError(
                    f"shard {index}/{common['count']} appears in two files: "
                    f"{self.by_shard[index]} and {path}"
                )
            if pos % common["count"] != index or not 0 <= pos < common["total"]:
                raise InputError(
                    f"{path}:{lineno}: position {pos} does not belong to shard "
                    f"{index}/{common['count']} of {common['total']} lines"
                )
            if pos in self.seen:
                self.n_dups += 1
                if len(self.dups) < _SHOW:
                    f, ln, _ = self.seen[pos]
                    self.dups.append(
                        f"id {obj.get('id')!r} at position {pos} ({f}:{ln} and {path}:{lineno})"
                    )
            elif pos < last:
                raise InputError(
                    f"{path}:{lineno}: rows are not in input order (position {pos} "
                    f"after {last}); was the file edited?"
                )
            else:
                self.seen[pos] = (str(path), lineno, obj.get("id"))
            last = max(last, pos)

    def _agree(self, path: Path, lineno: int, rec: dict[str, Any]) -> dict[str, Any]:
        here = {k: rec[k] for k in ("count", "total", "requests")}
        if self.common is None:
            self.common = here
        elif here != self.common:
            raise InputError(
                f"{path}:{lineno}: shard outputs of different runs (this row: {here}; the "
                f"first row: {self.common}); merge the shards of one request file and one "
                "--shard n"
            )
        return self.common

    def problems(self) -> list[str]:
        assert self.common is not None
        total, count = self.common["total"], self.common["count"]
        missing = [p for p in range(total) if p not in self.seen]
        parts = []
        if missing:
            short: dict[int, int] = {}
            for p in missing:
                short[p % count] = short.get(p % count, 0) + 1
            detail = "; ".join(
                f"shard {s}/{count} has {Shard(s, count).size(total) - k} of "
                f"{Shard(s, count).size(total)} rows"
                + ("" if s in self.by_shard else " (no file given)")
                for s, k in sorted(short.items())
            )
            more = ", ..." if len(missing) > _SHOW else ""
            parts.append(
                f"{len(missing)} of {total} requests missing (positions "
                f"{', '.join(map(str, missing[:_SHOW]))}{more}; {detail}); re-run the "
                "incomplete shards (they resume from their stores)"
            )
        if self.n_dups:
            parts.append(
                f"{self.n_dups} duplicated rows: {'; '.join(self.dups)}"
                f"{'; ...' if self.n_dups > len(self.dups) else ''}"
            )
        return parts


def merge_outputs(output: Path, shard_files: Sequence[Path]) -> MergeResult:
    """Write the shards' verdicts to ``output`` in the original line order.

    Every row must carry a ``"shard"`` record, all of one request file and shard count; each
    position must appear exactly once. Otherwise :class:`~flexjudge.errors.InputError` with the
    counts and the first offending positions and ids; ``output`` is then left untouched (it
    is written to a temporary file and renamed only when complete).
    """
    if not shard_files:
        raise ConfigError("merge needs at least one shard output")
    if any(same_file(output, p) for p in shard_files):
        raise OutputError(f"the merged output {str(output)!r} is also one of the shard outputs")
    check = _MergeCheck()
    for path in shard_files:
        check.scan(path)
    if check.common is None:
        raise InputError("the shard outputs hold no rows")
    problems = check.problems()
    if problems:
        raise InputError("cannot merge: " + "; ".join(problems))
    total, count = check.common["total"], check.common["count"]
    _write_merged(output, [check.by_shard[i] for i in range(count)], total, count)
    return MergeResult(rows=total, shards=count)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line in read_jsonl(path, what="shard output"):
        if line.error is not None:
            raise InputError(
                f"{line.error.cause}; a shard killed mid-write? re-run it to finish",
                path=path,
                line=line.number,
            )
        yield line.number, line.value


def _write_merged(output: Path, files: list[Path], total: int, count: int) -> None:
    """Round-robin over the (validated, ordered) shard files: position p is in file p % count."""
    readers = [_rows(p) for p in files]
    with AtomicWriter(output) as out:
        for pos in range(total):
            _, obj = next(readers[pos % count])
            obj.pop(SHARD_FIELD, None)
            out.write(dump_json_line(obj))
