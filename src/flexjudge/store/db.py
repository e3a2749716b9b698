"""The result store: engine completions in one SQLite file (WAL mode, stdlib ``sqlite3``).

Rules:

* What is stored is the *cache of engine completions*: per key (:mod:`flexjudge.store.keys`)
  the canonical request description, and one row per vote (text, finish reason, tokens).
  Verdicts are not stored: parsing and voting are cheap and deterministic, so they are
  recomputed from the completions, and a parser or voting fix applies to old runs too.
* A key's votes are written in one transaction, so a key is either complete or absent, even
  when a process is killed mid-write. The first writer of a key wins (``replace=False``);
  ``replace=True`` (``--no-cache``) overwrites it with the newer generation.
* Several processes may write one store on one host: WAL mode, a busy timeout and short
  ``BEGIN IMMEDIATE`` transactions. WAL needs shared memory, so the writers must be on one
  machine and the file on a local disk; sharded runs over several nodes each write their own
  store and ``flexjudge merge --store`` combines them.
* The schema has a version (table ``meta``). A store of an older version is migrated when a
  migration is registered in :data:`MIGRATIONS`; otherwise opening it raises
  :class:`~flexjudge.errors.ConfigError` saying what to do.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flexjudge.engines.base import Completion
from flexjudge.errors import ConfigError, OutputError

#: The schema this code reads and writes.
SCHEMA_VERSION = 1
#: ``MIGRATIONS[v]`` upgrades a store from version ``v`` to ``v + 1`` inside one transaction.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    engine TEXT NOT NULL,
    model TEXT NOT NULL,
    n INTEGER NOT NULL,
    request TEXT NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS completions (
    key TEXT NOT NULL REFERENCES requests(key),
    vote INTEGER NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    n_tokens INTEGER NOT NULL,
    PRIMARY KEY (key, vote)
) WITHOUT ROWID;
"""
_TABLES = {"meta", "requests", "completions"}
_LOOKUP_CHUNK = 500  # keys per SELECT ... IN (...), well under SQLite's variable limit

#: Columns of :meth:`Store.records`, the JSONL and the Parquet exports, in order.
RECORD_FIELDS = (
    "key",
    "vote",
    "n",
    "engine",
    "model",
    "text",
    "finish_reason",
    "n_tokens",
    "created",
    "request",
)


@dataclass(frozen=True)
class Entry:
    """One generation to store: its key, canonical description and ``n`` completions."""

    key: str
    request: str
    engine: str
    model: str
    completions: Sequence[Completion]


@dataclass(frozen=True)
class StoreCounts:
    requests: int
    completions: int


_F = TypeVar("_F", bound=Callable[..., Any])


def _serialised(method: _F) -> _F:
    """One call at a time on the store's connection, whatever thread it comes from."""

    @functools.wraps(method)
    def call(self: Store, *args: Any, **kwargs: Any) -> Any:
        with self._mutex:
            return method(self, *args, **kwargs)

    return call  # type: ignore[return-value]


class Store:
    """An open result store. ``timeout``: seconds to wait for another writer's lock.

    ``lock=True`` (what a run takes) holds an advisory lock on ``STORE.lock`` for as long as
    the store is open: a second run on the same store fails at once, naming the process that
    holds it, instead of two runs interleaving their outputs. Shards of one run write their own
    stores, so they never contend for a lock.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 60.0, lock: bool = False
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock: StoreLock | None = None
        self._mutex = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the store folder {str(self.path.parent)!r}: {exc.strerror or exc}"
            ) from exc
        if self.path.is_dir():
            raise ConfigError(f"the store {str(self.path)!r} is a folder; pass a file path")
        if lock:
            self._lock = StoreLock(self.path)
        try:
            # isolation_level=None: autocommit, transactions are explicit and short.
            # One connection, usable from any thread (the async API runs calls in worker
            # threads); the store's lock takes its uses one at a time.
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            self._release()
            raise ConfigError(f"cannot open the store {str(self.path)!r}: {exc}") from exc
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._wal()
            self._db.execute("PRAGMA synchronous = NORMAL")  # WAL: safe against process crashes
            self._init_schema()
        except sqlite3.OperationalError as exc:
            self._db.close()
            self._release()
            if "readonly" in str(exc) or "unable to open" in str(exc) or "disk" in str(exc):
                raise OutputError(f"cannot write the store {str(self.path)!r}: {exc}") from exc
            raise ConfigError(
                f"{str(self.path)!r} is not a flexjudge store ({exc}); pass another --store path"
            ) from exc
        except sqlite3.DatabaseError as exc:
            self._db.close()
            self._release()
            raise ConfigError(
                f"{str(self.path)!r} is not a flexjudge store ({exc}); pass another --store path"
            ) from exc
        except BaseException:
            self._db.close()
            self._release()
            raise

    # -- opening ---------------------------------------------------------------------------
    def _wal(self) -> None:
        # Switching to WAL takes a brief exclusive lock; a second process creating the same
        # store at the same moment may see "locked" before the busy handler applies.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _init_schema(self) -> None:
        with self._write():
            tables = {
                r[0]
                for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not tables:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema_version", str(SCHEMA_VERSION)), ("created", str(time.time()))],
                )
                return
            if "meta" not in tables:
                raise ConfigError(
                    f"{str(self.path)!r} is an SQLite database but not a flexjudge store (its "
                    f"tables: {', '.join(sorted(tables))}); pass another --store path"
                )
            row = self._db.execute(
                "SELECT value FROM meta WHERE name = 'schema_version'"
            ).fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"the store {str(self.path)!r} was written by a newer flexjudge (schema "
                    f"version {version}; this one reads version {SCHEMA_VERSION}): upgrade "
                    "flexjudge (pip install -U flexjudge), or pass another --store path"
                )
            while version < SCHEMA_VERSION:
                migrate = MIGRATIONS.get(version)
                if migrate is None:
                    raise ConfigError(
                        f"the store {str(self.path)!r} has schema version {version} and this "
                        f"flexjudge (schema version {SCHEMA_VERSION}) cannot migrate it. It "
                        "only caches engine completions: move it aside or pass another --store "
                        "path, and the run regenerates them (to keep its records, export them "
                        "first with the flexjudge version that wrote it)"
                    )
                migrate(self._db)
                version += 1
                self._db.execute(
                    "UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(version),)
                )

    def _write(self) -> _Transaction:
        return _Transaction(self._db)

    # -- cache -----------------------------------------------------------------------------
    @_serialised
    def get(self, keys: Sequence[str], n: int) -> dict[str, list[Completion]]:
        """The stored completions of each key that has all ``n`` votes, votes in order."""
        rows: dict[str, list[tuple[int, Completion]]] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), _LOOKUP_CHUNK):
            chunk = unique[i : i + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, vote, text, reason, tokens in self._db.execute(
                "SELECT key, vote, text, finish_reason, n_tokens FROM completions "
                f"WHERE key IN ({marks})",
                chunk,
            ):
                rows.setdefault(key, []).append((vote, Completion(text, reason, tokens)))
        out = {}
        for key, votes in rows.items():
            votes.sort(key=lambda v: v[0])
            if [v for v, _ in votes] == list(range(n)):
                out[key] = [c for _, c in votes]
        return out

    @_serialised
    def put(self, entries: Sequence[Entry], *, replace: bool = False) -> None:
        """Store entries in one transaction (all of them or none)."""
        if not entries:
            return
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        now = time.time()
        with self._write():
            for e in entries:
                if replace:
                    self._db.execute("DELETE FROM completions WHERE key = ?", (e.key,))
                elif self._db.execute("SELECT 1 FROM requests WHERE key = ?", (e.key,)).fetchone():
                    continue  # first writer wins; its votes stay together
                self._db.execute(
                    f"{verb} INTO requests VALUES (?, ?, ?, ?, ?, ?)",
                    (e.key, e.engine, e.model, len(e.completions), e.request, now),
                )
                self._db.executemany(
                    f"{verb} INTO completions VALUES (?, ?, ?, ?, ?)",
                    [
                        (e.key, k, c.text, c.finish_reason, c.n_tokens)
                        for k, c in enumerate(e.completions)
                    ],
                )

    # -- inspection and export -------------------------------------------------------------
    @_serialised
    def counts(self) -> StoreCounts:
        r = self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        c = self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
        return StoreCounts(int(r), int(c))

    @_serialised
    def keys(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT key FROM requests")}

    def records(self) -> Iterator[dict[str, Any]]:
        """One record per stored completion (fields :data:`RECORD_FIELDS`), by key and vote."""
        cur = self._db.execute(
            "SELECT c.key, c.vote, r.n, r.engine, r.model, c.text, c.finish_reason, c.n_tokens, "
            "r.created, r.request FROM completions c JOIN requests r ON r.key = c.key "
            "ORDER BY c.key, c.vote"
        )
        for row in cur:
            yield dict(zip(RECORD_FIELDS, row))

    def export_jsonl(self, path: str | Path) -> int:
        """Write :meth:`records` as JSON lines (``request`` parsed back into an object)."""
        count = 0
        with Path(path).open("w", encoding="utf-8") as fh:
            for rec in self.records():
                rec["request"] = json.loads(rec["request"])
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                count += 1
        return count

    def export_parquet(self, path: str | Path, *, batch_rows: int = 10_000) -> int:
        """Write :meth:`records` as Parquet (``request`` as its JSON text), in row batches."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ConfigError(
                "Parquet export needs pyarrow: pip install 'flexjudge[store]'"
            ) from exc
        schema = pa.schema(
            [
                ("key", pa.string()),
                ("vote", pa.int32()),
                ("n", pa.int32()),
                ("engine", pa.string()),
                ("model", pa.string()),
                ("text", pa.string()),
                ("finish_reason", pa.string()),
                ("n_tokens", pa.int64()),
                ("created", pa.float64()),
                ("request", pa.string()),
            ]
        )
        count = 0
        with pq.ParquetWriter(str(path), schema) as writer:
            batch: list[dict[str, Any]] = []
            for rec in self.records():
                batch.append(rec)
                if len(batch) >= batch_rows:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    count += len(batch)
                    batch = []
            if batch or count == 0:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
        return count

    # -- merging ---------------------------------------------------------------------------
    @_serialised
    def merge_from(self, other: str | Path) -> int:
        """Copy every key of store ``other`` that this store lacks; returns completions added.
        ``other`` is opened (and checked) as a store first."""
        other = Path(other)
        if not other.is_file():
            raise ConfigError(f"no store at {str(other)!r} to merge")
        Store(other, timeout=self.timeout).close()  # validates its schema version
        before = self.counts().completions
        self._db.execute("ATTACH DATABASE ? AS other", (str(other),))
        try:
            with self._write():
                self._db.execute(
                    "INSERT OR IGNORE INTO requests SELECT * FROM other.requests o "
                    "WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.key = o.key)"
                )
                # Only votes of keys this store took from ``other``: a key already here keeps
                # its own complete set.
                self._db.execute(
                    "INSERT OR IGNORE INTO completions SELECT * FROM other.completions o "
                    "WHERE NOT EXISTS (SELECT 1 FROM completions c WHERE c.key = o.key)"
                )
        finally:
            self._db.execute("DETACH DATABASE other")
        return self.counts().completions - before

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        try:
            self._db.close()
        finally:
            self._release()

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error): takes the write lock at the
    start, so two writers queue on the busy timeout instead of failing mid-transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


class StoreLock:
    """An advisory ``flock`` on ``STORE.lock`` holding the owner's pid (POSIX only; elsewhere
    the lock is skipped, as flock does not exist there)."""

    def __init__(self, store: Path) -> None:
        self.path = store.with_name(store.name + ".lock")
        self._fh: Any = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        try:
            fh = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise OutputError(
                f"cannot create the store lock {str(self.path)!r}: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise OutputError(
                f"the store {str(store)!r} is in use by another run (process {holder}); wait "
                "for it to finish, or pass another --store / --output"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()  # closing the descriptor releases the flock
