"""The Ray Data worker: one :class:`~flexjudge.Judge` (one engine, one GPU where there are
GPUs) per actor, judging whole chunks through the one judging path.

Each call gets a batch of rows and returns their verdict rows (:mod:`._chunks`):

* request-file chunks: every chunk is judged as one ``judge_stream`` chunk of its own size,
  the batch a plain ``flexjudge run`` makes at those positions;
* rows of a user's request dataset: the batch Ray made is judged as one chunk.

Completions come from the run's store first (:class:`._store.RemoteStore` behind the judge's
:class:`~flexjudge.store.CachedEngine`), so a retried batch (Ray restarts a killed actor and
retries its task) and a resumed run generate only what was never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from flexjudge.judge.api import Judge
from flexjudge.scale._chunks import chunk_items, request_rows, verdict_table
from flexjudge.scale._store import RemoteStore


class JudgeWorker:
    """Ray Data calls ``JudgeWorker(**constructor kwargs)`` once per actor, then the instance
    on each batch. ``judge``: ``Judge(**judge)`` keyword arguments (model, engine, settings,
    engine options); ``store``: the store actor, or None for no store; ``source``: the request
    file when the rows are its chunks; ``defaults``: request fields a line may leave out."""

    def __init__(
        self,
        judge: Mapping[str, Any],
        store: Any = None,
        cache: bool = True,
        source: str | None = None,
        defaults: Mapping[str, Any] | None = None,
        keep_votes: bool = True,
    ) -> None:
        remote = RemoteStore(store) if store is not None else None
        self.judge = Judge(**judge, store=remote, cache=cache)
        self.source = Path(source) if source is not None else None
        self.defaults = dict(defaults or {})
        self.keep_votes = keep_votes

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.source is None:
            rows = request_rows(batch)
            view = self.judge.with_config(batch_size=max(1, len(rows)))
            verdicts = list(view.run(rows))
            return verdict_table(verdicts, [None] * len(verdicts), keep_votes=self.keep_votes)
        tables = []
        for positions, items in chunk_items(batch, self.source, self.defaults):
            view = self.judge.with_config(batch_size=max(1, len(items)))
            verdicts = list(view.run(items))
            tables.append(verdict_table(verdicts, list(positions), keep_votes=self.keep_votes))
        return pa.concat_tables(tables) if tables else verdict_table([], [])
