"""One result store for a whole Ray run: a store actor owns the SQLite file, every worker's
cache reads and writes it through :class:`RemoteStore`.

Why an actor: SQLite in WAL mode wants its writers on one machine and the file on a local
disk, and a Ray cluster spreads workers over machines. The actor is pinned to the driver's
node, opens the store with its lock (a second run on the same store is refused, naming the
holder), and serves the two calls a cache makes: ``get`` and ``put``. Keys are made by the
workers' :class:`~flexjudge.store.CachedEngine`, exactly as in a plain run, so a store written
by ``flexjudge run`` resumes a Ray run and the other way round. Each ``put`` is one
transaction; a killed worker loses at most the generation it had not stored yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.engines.base import Completion
from flexjudge.errors import FlexJudgeError, OutputError
from flexjudge.store import Store
from flexjudge.store.db import Entry, StoreCounts

#: Seconds a worker waits for the store actor to answer one call (its own SQLite busy
#: timeout is 60 s; a call that waits longer means the actor is gone or wedged).
STORE_CALL_DEADLINE = 300.0


class StoreServer:
    """The store actor's class (made remote by :func:`start_store`)."""

    def __init__(self, path: str) -> None:
        self.error: str | None = None
        self.hits = self.generated = 0
        self.store: Store | None = None
        try:
            self.store = Store(path, lock=True)
        except FlexJudgeError as exc:  # reported by ready(), in the driver, as itself
            self.error = str(exc)

    def ready(self) -> str | None:
        """None when the store is open, else why it is not."""
        return self.error

    def get(self, keys: list[str], n: int) -> dict[str, list[Completion]]:
        assert self.store is not None
        found = self.store.get(keys, n)
        self.hits += sum(1 for k in keys if k in found)
        return found

    def put(self, entries: list[Entry], replace: bool) -> None:
        assert self.store is not None
        self.store.put(entries, replace=replace)
        self.generated += len(entries)

    def stats(self) -> tuple[int, int]:
        """(requests answered from the store, requests generated and stored)."""
        return self.hits, self.generated

    def counts(self) -> StoreCounts:
        assert self.store is not None
        return self.store.counts()

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def start_store(path: Path) -> Any:
    """Start the store actor on this node and wait until the store is open; an unusable or
    locked store raises here, as it would in a plain run."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    server: Any = ray.remote(StoreServer)
    actor = server.options(
        num_cpus=0,
        max_restarts=0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
    ).remote(str(path))
    error = ray.get(actor.ready.remote(), timeout=STORE_CALL_DEADLINE)
    if error is not None:
        ray.kill(actor)
        raise OutputError(error)
    return actor


def stop_store(actor: Any) -> tuple[int, int]:
    """Close the store (releasing its lock) and return its (hits, generated)."""
    import ray

    stats: tuple[int, int] = ray.get(actor.stats.remote(), timeout=STORE_CALL_DEADLINE)
    ray.get(actor.close.remote(), timeout=STORE_CALL_DEADLINE)
    ray.kill(actor)
    return stats


class RemoteStore(Store):
    """A worker's view of the run's store: :meth:`get` and :meth:`put` (all a
    :class:`~flexjudge.store.CachedEngine` calls) go to the store actor. Opening, export and
    merging belong to the actor's own :class:`Store`; this view has no file of its own."""

    def __init__(self, actor: Any) -> None:  # no super().__init__(): there is no file here
        self.actor = actor
        self.path = Path("<store actor>")

    def get(self, keys: Sequence[str], n: int) -> dict[str, list[Completion]]:
        import ray

        found: dict[str, list[Completion]] = ray.get(
            self.actor.get.remote(list(keys), n), timeout=STORE_CALL_DEADLINE
        )
        return found

    def put(self, entries: Sequence[Entry], *, replace: bool = False) -> None:
        import ray

        ray.get(self.actor.put.remote(list(entries), replace), timeout=STORE_CALL_DEADLINE)

    def counts(self) -> StoreCounts:
        import ray

        counts: StoreCounts = ray.get(self.actor.counts.remote(), timeout=STORE_CALL_DEADLINE)
        return counts

    def close(self) -> None:
        """The actor's store is closed by the driver (:func:`stop_store`), not by a worker."""

    def __repr__(self) -> str:
        return "RemoteStore(<store actor>)"
