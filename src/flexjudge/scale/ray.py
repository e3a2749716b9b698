"""Judging on a Ray cluster with Ray Data (``pip install 'flexjudge[ray]'``).

``judge(data, model=..., votes=5, ...)`` returns a :class:`ray.data.Dataset` of verdict rows
(:data:`VERDICT_SCHEMA`): requests flow through ``map_batches`` on a pool of
``num_workers`` actors (:class:`~._worker.JudgeWorker`), each holding one engine (one GPU each
where the cluster has GPUs), and every engine completion goes through one result store (a
store actor on the driver's node, :mod:`._store`). ``flexjudge run --executor ray`` is
:func:`run_file`.

Rules:

* **Equal to a plain run.** Given a request file, each engine call sees the same requests a
  plain ``flexjudge run`` with the same ``batch_size`` gives it (chunks fixed by position,
  :mod:`._chunks`), and the engines seed every call, so the output is the plain run's, byte
  for byte, on the same software and hardware (GPU kernels may differ between GPU models). A
  user's dataset is batched by Ray: with ``batch_size=1`` its verdicts equal
  :meth:`Judge.run <flexjudge.Judge.run>` over the same rows; with larger batches each request
  is judged once with the same settings, but its samples depend on its batch neighbours.
* **Resume.** Keys are a plain run's, so a store written by ``flexjudge run`` (or by a killed
  Ray run) answers what it holds; only the rest is generated. A chunk that was half stored
  when its run died is generated with a smaller batch, as in a resumed plain run (exact with
  ``batch_size=1``).
* **Failures.** Ray restarts a killed actor and retries its batch (``retries`` times): the
  retry answers stored completions from the store and regenerates the rest with the same
  batch, so the output does not change. Bad lines and bad items become error records, as in a
  plain run.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flexjudge.errors import ConfigError

try:
    import ray
    import ray.data
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask
except ImportError as exc:  # pragma: no cover - exercised where ray is not installed
    raise ConfigError(
        f"flexjudge.scale.ray needs {exc.name or 'ray'}: pip install 'flexjudge[ray]'"
    ) from exc

from flexjudge.judge.api import DEFAULT_MODEL
from flexjudge.judge.config import JudgeConfig
from flexjudge.options import field_names
from flexjudge.run import RunPlan, RunProgress, RunSummary
from flexjudge.scale._chunks import (
    CHUNK_SCHEMA,
    VERDICT_SCHEMA,
    ChunkStart,
    chunk_starts,
    read_chunks,
    source_path,
    verdict_of,
)
from flexjudge.scale._output import VerdictWriter, in_order
from flexjudge.scale._store import start_store, stop_store
from flexjudge.scale._worker import JudgeWorker

__all__ = ["VERDICT_SCHEMA", "judge", "read_requests", "run_file", "verdict_of", "write_verdicts"]

#: Engines that hold local weights: their workers take a GPU each where there are GPUs.
_GPU_ENGINES = frozenset({"transformers", "vllm"})


class RequestFileSource(Datasource):
    """A request file as chunk rows (:mod:`._chunks`): the driver finds where each chunk
    starts; each read task seeks there and yields one block per chunk, so Ray can hand every
    chunk to whichever worker is free."""

    def __init__(self, path: Path, batch_size: int) -> None:
        super().__init__()
        self.path = path
        self.batch_size = batch_size
        self.starts = chunk_starts(path, batch_size)

    def estimate_inmemory_data_size(self) -> int:
        return self.path.stat().st_size

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
    ) -> list[ReadTask]:
        n = len(self.starts)
        if n == 0:
            return []
        per = -(-n // max(1, min(parallelism, n)))
        tasks = []
        for lo in range(0, n, per):
            hi = min(n, lo + per)
            meta = BlockMetadata(
                num_rows=hi - lo, size_bytes=None, input_files=(str(self.path),), exec_stats=None
            )
            tasks.append(
                ReadTask(
                    _reader(self.path, self.starts[lo], lo, hi, self.batch_size), meta, CHUNK_SCHEMA
                )
            )
        return tasks


def _reader(path: Path, start: ChunkStart, lo: int, hi: int, batch_size: int) -> Any:
    def read() -> Iterator[Any]:
        return read_chunks(path, start, lo, hi, batch_size)

    return read


def read_requests(path: str | os.PathLike[str], *, batch_size: int = 8) -> ray.data.Dataset:
    """A request file as a dataset of chunks of ``batch_size`` positions (module rules).
    Reading takes no CPU slot: slicing lines is light, and workers that hold every CPU of a
    small cluster must not starve the reads that feed them."""
    return ray.data.read_datasource(RequestFileSource(source_path(path), batch_size), num_cpus=0)


def judge(
    data: ray.data.Dataset | str | os.PathLike[str],
    model: str = DEFAULT_MODEL,
    *,
    engine: str = "transformers",
    store: str | os.PathLike[str] | None = None,
    cache: bool = True,
    num_workers: int = 1,
    num_gpus: float | None = None,
    num_cpus: float = 1.0,
    keep_votes: bool = True,
    defaults: Mapping[str, Any] | None = None,
    retries: int = 3,
    **options: Any,
) -> ray.data.Dataset:
    """Judge ``data`` on the Ray cluster (``ray.init()`` first; module rules).

    ``data``: a request file (its lines are judged in chunks fixed by position) or a dataset
    whose rows are requests (the fields of a request-file line). ``options``: the
    :class:`~flexjudge.judge.JudgeConfig` settings (``votes``, ``order``, ``seed``,
    ``batch_size``...) and the engine's options, as for :class:`~flexjudge.Judge`. ``store``:
    the result store (its actor lives as long as the returned dataset). ``num_gpus`` per
    worker defaults to 1 for local-weight engines on a cluster with GPUs (times
    ``tensor_parallel_size``), else 0. ``defaults``: request fields a file line may leave out
    (the CLI's ``--scale``...). ``keep_votes=False`` leaves the votes out of ``verdict``.
    """
    actor = start_store(Path(store)) if store is not None else None
    return _judge(
        data,
        {"model": model, "engine": engine, **options},
        store_actor=actor,
        cache=cache,
        num_workers=num_workers,
        num_gpus=num_gpus,
        num_cpus=num_cpus,
        keep_votes=keep_votes,
        defaults=defaults,
        retries=retries,
    )


def _judge(
    data: ray.data.Dataset | str | os.PathLike[str],
    judge_kwargs: Mapping[str, Any],
    *,
    store_actor: Any,
    cache: bool,
    num_workers: int,
    num_gpus: float | None,
    num_cpus: float,
    keep_votes: bool,
    defaults: Mapping[str, Any] | None,
    retries: int,
) -> ray.data.Dataset:
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ConfigError(f"num_workers must be an integer >= 1, got {num_workers!r}")
    kwargs = dict(judge_kwargs)
    names = field_names(JudgeConfig)
    settings = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    config = JudgeConfig(**settings)  # bad settings fail here, before any actor starts
    kwargs["config"] = config
    if isinstance(data, ray.data.Dataset):
        rows, source = data, None
    else:
        source = source_path(data)
        rows = read_requests(source, batch_size=config.batch_size)
    gpus = _gpus_per_worker(str(kwargs["engine"]), kwargs) if num_gpus is None else num_gpus
    worker = dict(
        judge=kwargs,
        store=store_actor,
        cache=cache,
        source=None if source is None else str(source),
        defaults=dict(defaults or {}),
        keep_votes=keep_votes,
    )
    with warnings.catch_warnings():
        # Ray 2.60 names no parameter for actor task retries; Ray Data's docs point to the
        # remote-args keywords of map_batches (max_task_retries), which warn as deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        return rows.map_batches(
            JudgeWorker,
            fn_constructor_kwargs=worker,
            # one chunk per call for a request file; Ray's batches of batch_size rows otherwise
            batch_size=1 if source is not None else config.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=num_workers),
            num_gpus=gpus,
            num_cpus=num_cpus,
            max_task_retries=retries,
        )


def _gpus_per_worker(engine: str, kwargs: Mapping[str, Any]) -> float:
    if engine not in _GPU_ENGINES or ray.cluster_resources().get("GPU", 0) < 1:
        return 0
    return float(kwargs.get("tensor_parallel_size") or 1)


def write_verdicts(
    verdicts: ray.data.Dataset,
    output: str | os.PathLike[str],
    *,
    total: int | None = None,
    progress: RunProgress | None = None,
) -> RunSummary:
    """Write ``verdicts`` to ``output`` (JSONL, or Parquet for ``.parquet``) in input order,
    atomically (:mod:`._output`), counting them by status."""
    summary = RunSummary(Path(output))
    start = time.perf_counter()
    with VerdictWriter(Path(output)) as out:
        batches = verdicts.iter_batches(batch_format="pyarrow", batch_size=None)
        rows = (row for batch in batches for row in batch.to_pylist())  # type: ignore[union-attr]
        for row in in_order(rows, total):
            out.write(row)
            status = str(row["status"])
            summary.counts[status] = summary.counts.get(status, 0) + 1
            if progress is not None:
                progress.advance(status)
    summary.seconds = time.perf_counter() - start
    return summary


def connect() -> None:
    """Join the cluster at ``RAY_ADDRESS`` (set by ``ray job submit``), or start a local one."""
    if not ray.is_initialized():
        ray.init(logging_level=logging.WARNING, log_to_driver=True)
    ray.data.DataContext.get_current().enable_progress_bars = False


def run_file(
    plan: RunPlan,
    judge_kwargs: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
    votes: bool = True,
    cache: bool = True,
    num_workers: int = 1,
    progress: RunProgress | None = None,
) -> RunSummary:
    """``flexjudge run --executor ray``: the plan's request file judged on the cluster into
    its output, with its store (module rules)."""
    if plan.shard is not None:
        raise ConfigError(
            "--shard splits a run over processes; with --executor ray the cluster splits it: "
            "drop --shard (and RANK/WORLD_SIZE, SLURM_ARRAY_* for this command)"
        )
    connect()
    actor = start_store(plan.store)
    hits = generated = 0
    try:
        verdicts = _judge(
            plan.requests,
            judge_kwargs,
            store_actor=actor,
            cache=cache,
            num_workers=num_workers,
            num_gpus=None,
            num_cpus=1.0,
            keep_votes=votes,
            defaults=defaults,
            retries=3,
        )
        summary = write_verdicts(verdicts, plan.output, total=plan.source.total, progress=progress)
    finally:
        hits, generated = stop_store(actor)
    summary.from_store, summary.generated = hits, generated
    return summary
