"""Where benchmark records come from, and how their media are found.

``--data`` is a local file in the benchmark's published format (JSONL, a JSON array, CSV), a
local dataset folder (``Dataset.save_to_disk`` or a folder ``datasets`` can load), or a
Hugging Face dataset id (read through ``datasets``, so offline only from its cache). Records
are streamed one at a time in every case.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.loaders import iter_jsonl, load_json_array
from flexjudge.errors import ConfigError

__all__ = ["Record", "iter_records", "resolve_media"]

#: One record and where it came from: (1-based line or row number, the record).
Record = tuple[int, dict[str, Any]]


def iter_records(
    data: str | Path, *, split: str | None = None, config: str | None = None
) -> Iterator[Record]:
    """Stream the records of ``data`` (see the module doc). ``split``/``config`` select a
    Hugging Face split / configuration where ``data`` is a dataset."""
    path = Path(data)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            yield from iter_jsonl(path)
        elif suffix == ".json":
            yield from enumerate(load_json_array(path), start=1)
        elif suffix in (".csv", ".tsv"):
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
                for row in reader:
                    yield reader.line_num, dict(row)
        else:
            raise BenchmarkDataError(
                path,
                f"unsupported file type {suffix!r}: use .jsonl, .json, .csv or a dataset folder",
            )
        return
    yield from _iter_dataset(str(data), split=split, config=config)


def _iter_dataset(data: str, *, split: str | None, config: str | None) -> Iterator[Record]:
    try:
        import datasets
    except ImportError as exc:
        raise ConfigError(
            "reading a dataset folder or hub id needs `datasets`: pip install 'flexjudge[train]'"
        ) from exc
    path = Path(data)
    try:
        if path.is_dir() and (
            (path / "dataset_info.json").is_file()
            or (path / "state.json").is_file()
            or (path / "dataset_dict.json").is_file()
        ):
            ds: Any = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                key = split or next(iter(ds))
                if key not in ds:
                    raise BenchmarkDataError(path, f"no split {key!r}; it has {sorted(ds)}")
                ds = ds[key]
        else:
            if not path.exists() and ("/" not in data or data.startswith((".", "/"))):
                raise BenchmarkDataError(path, "no such file, folder or hub dataset id")
            ds = datasets.load_dataset(
                data, config, split=split or "test", streaming=not path.exists()
            )
    except BenchmarkDataError:
        raise
    except Exception as exc:  # the datasets library's own errors: offline, unknown id, bad config
        raise BenchmarkDataError(
            path,
            f"cannot load as a dataset: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}",
        ) from exc
    for i, row in enumerate(ds, start=1):
        yield i, dict(row)


def resolve_media(value: Any, root: Path | None, kind: str = "image") -> tuple[Any, str | None]:
    """``(media, None)`` when usable, ``(None, problem)`` when not.

    Accepted values: a path (relative ones are joined to ``root``), a PIL image, a
    ``datasets`` Image/Audio/Video cell (``{"bytes", "path"}``, ``{"array", "sampling_rate"}``)
    or an object the media layer takes as is (decoded video frames, ``(array, rate)``).
    """
    if value is None:
        return None, f"no {kind} given"
    if isinstance(value, (str, Path)):
        p = Path(value)
        if not p.is_absolute() and root is not None:
            p = root / p
        if not p.is_file():
            return None, f"{kind} file {str(p)!r} is missing"
        return str(p), None
    if isinstance(value, Mapping):
        if value.get("array") is not None and value.get("sampling_rate"):
            import numpy as np

            return (np.asarray(value["array"], dtype=np.float32), int(value["sampling_rate"])), None
        if value.get("bytes"):
            if kind == "image":
                from PIL import Image

                return Image.open(io.BytesIO(value["bytes"])), None
            return None, f"{kind} given as bytes: save it to a file and pass the folder"
        if value.get("path"):
            return resolve_media(value["path"], root, kind)
        return None, f"unreadable {kind} cell with keys {sorted(value)}"
    return value, None
