"""The durable result store: engine completions cached in SQLite, resumable and sharded runs.

* :class:`Store` (:mod:`.db`): the SQLite file, its schema version, export and merging.
* :class:`CachedEngine` (:mod:`.cached`): any engine, answering from the store first.
* :mod:`.keys`: what a cache key covers.

Verdicts are not stored: they are recomputed from the cached completions (parsing and voting
are cheap and deterministic).
"""

from flexjudge.store.cached import CachedEngine, CacheStats
from flexjudge.store.db import MIGRATIONS, SCHEMA_VERSION, Entry, Store, StoreCounts
from flexjudge.store.keys import KEY_VERSION, engine_identity, folder_fingerprint

__all__ = [
    "KEY_VERSION",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "CacheStats",
    "CachedEngine",
    "Entry",
    "Store",
    "StoreCounts",
    "engine_identity",
    "folder_fingerprint",
]
