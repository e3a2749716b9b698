"""Reading benchmark files: records from JSONL, JSON arrays, CSV, dataset folders or hub ids,
typed access to a record's fields, media resolution, and matching predictions to items.

Every file is opened through :mod:`flexjudge.io` (one set of rules for missing files, folders,
FIFOs, byte-order marks and bad JSON lines), and every problem is a
:class:`~flexjudge.bench.errors.BenchmarkDataError` naming the file, the line or item, and the
cause. JSONL and CSV stream one record at a time; JSON arrays are read whole (they are small).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.errors import ConfigError, InputError
from flexjudge.io import iter_json_objects, open_input

__all__ = [
    "Fields",
    "Record",
    "iter_csv_rows",
    "iter_jsonl",
    "iter_records",
    "load_json_array",
    "match_ids",
    "open_text",
    "peek_first_object",
    "resolve_media",
]

#: One record and where it came from: (1-based line or row number, the record).
Record = tuple[int, dict[str, Any]]

_FIRST = 5  # how many offending ids an error message lists


@contextlib.contextmanager
def open_text(path: Path | str, what: str = "file") -> Iterator[IO[str]]:
    """``path`` as UTF-8 text (a byte-order mark dropped, newlines kept for :mod:`csv`)."""
    try:
        with open_input(path, what) as raw:
            yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    except InputError as exc:
        raise BenchmarkDataError.of(exc) from None
    except UnicodeDecodeError as exc:
        raise BenchmarkDataError(path, f"not valid UTF-8 ({exc.reason})") from None


def iter_jsonl(path: Path | str, *, what: str = "file") -> Generator[Record, None, None]:
    """``(line number, object)`` for each non-blank line of a JSONL file (flexjudge.io's rules:
    a line that is not a JSON object raises with its number)."""
    try:
        yield from iter_json_objects(path, what=what)
    except InputError as exc:
        raise BenchmarkDataError.of(exc) from None


def load_json_array(path: Path | str, *, what: str = "file") -> list[dict[str, Any]]:
    """A file holding one JSON array of objects (the PandaLM and MJ-Bench result files)."""
    with open_text(path, what) as fh:
        try:
            data = json.loads(fh.read())
        except json.JSONDecodeError as exc:
            raise BenchmarkDataError(
                path, f"not valid JSON ({exc.msg} at column {exc.colno})", line=exc.lineno
            ) from None
    if not isinstance(data, list):
        raise BenchmarkDataError(path, f"expected a JSON array, got {type(data).__name__}")
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise BenchmarkDataError(
                path, f"expected a JSON object, got {type(obj).__name__}", item=i
            )
    return data


def iter_csv_rows(path: Path | str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV rows, stripped, with their 1-based line numbers."""
    with open_text(path) as fh:
        reader = csv.reader(fh)
        for row in reader:
            if row and "".join(row).strip():
                yield reader.line_num, [c.strip() for c in row]


def peek_first_object(path: Path) -> tuple[str, dict[str, Any] | None]:
    """What a file looks like, cheaply: ``("array", first object)`` for a JSON array,
    ``("lines", first object)`` for JSONL, ``("folder", None)`` for a folder. Raises for an
    empty or unreadable file, or one that is neither."""
    if path.is_dir():
        return "folder", None
    with open_text(path) as fh:
        head = fh.read(65536).lstrip()
    if not head:
        raise BenchmarkDataError(path, "file is empty")
    if head.startswith("["):
        body = head[1:].lstrip()
        if body.startswith("]"):
            raise BenchmarkDataError(path, "holds an empty JSON array")
        try:
            first, _ = json.JSONDecoder().raw_decode(body)
        except json.JSONDecodeError:  # a first object longer than the head: read it all
            first = load_json_array(path)[0]
        return "array", first if isinstance(first, dict) else None
    lines = iter_jsonl(path)
    try:
        _, first = next(lines)
    finally:
        lines.close()  # release the file now, not at garbage collection
    return "lines", first


def iter_records(
    data: str | Path, *, split: str | None = None, config: str | None = None
) -> Iterator[Record]:
    """Stream the records of ``data``: a JSONL / JSON-array / CSV / TSV file, a dataset folder
    (``Dataset.save_to_disk`` or one ``datasets`` can load) or a Hugging Face dataset id (read
    through ``datasets``, so offline only from its cache). ``split``/``config`` select a split /
    configuration where ``data`` is a dataset."""
    path = Path(data)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            yield from iter_jsonl(path)
        elif suffix == ".json":
            yield from enumerate(load_json_array(path), start=1)
        elif suffix in (".csv", ".tsv"):
            with open_text(path) as fh:
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
        import datasets  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ConfigError(
            "reading a dataset folder or hub id needs `datasets`: pip install 'flexjudge[bench]'"
        ) from exc
    path = Path(data)
    try:
        if path.is_dir() and any(
            (path / name).is_file()
            for name in ("dataset_info.json", "state.json", "dataset_dict.json")
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
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise BenchmarkDataError(
            path, f"cannot load as a dataset: {type(exc).__name__}: {first}"
        ) from exc
    for i, row in enumerate(ds, start=1):
        yield i, dict(row)


class Fields:
    """Typed access to one record's fields; every failure names the file and line/item."""

    def __init__(
        self,
        obj: Mapping[str, Any],
        path: Path | str,
        *,
        line: int | None = None,
        item: object | None = None,
    ) -> None:
        self.obj, self.path, self.line, self.item = obj, Path(path), line, item

    def fail(self, cause: str) -> BenchmarkDataError:
        return BenchmarkDataError(self.path, cause, line=self.line, item=self.item)

    def get(self, key: str, *types: type, optional: bool = False) -> Any:
        if key not in self.obj:
            if optional:
                return None
            raise self.fail(f"missing field {key!r}")
        value = self.obj[key]
        if value is None and optional:
            return None
        # bool is an int subclass; a bool where an int is expected is a format error
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            raise self.fail(f"field {key!r} must be {names}, got {type(value).__name__} {value!r}")
        return value

    def text(self, key: str, *, optional: bool = False) -> Any:
        return self.get(key, str, optional=optional)

    def integer(self, key: str, *, optional: bool = False) -> Any:
        return self.get(key, int, optional=optional)


def resolve_media(value: Any, root: Path | None, kind: str = "image") -> tuple[Any, str | None]:
    """``(media, None)`` when usable, ``(None, problem)`` when not.

    Accepted values: a path (relative ones are joined to ``root``), a PIL image, a
    ``datasets`` Image/Audio/Video cell (``{"bytes", "path"}``, ``{"array", "sampling_rate"}``)
    or an object the media layer takes as is (decoded video frames, ``(array, rate)``).
    """
    if value is None:
        return None, f"no {kind} given"
    if isinstance(value, (str, Path)):
        if not str(value).strip():
            return None, f"no {kind} given (empty path)"
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


def match_ids(
    pred_ids: Sequence[str], item_ids: Sequence[str], predictions: Path | str, data: Path | str
) -> dict[str, int]:
    """Position of each prediction id; raises unless the ids are exactly the items' ids, with
    both counts and the first offending ids."""
    seen: dict[str, int] = {}
    dupes: list[str] = []
    for pos, pid in enumerate(pred_ids):
        if pid in seen:
            dupes.append(pid)
        seen[pid] = pos
    if dupes:
        raise BenchmarkDataError(
            predictions, f"{len(dupes)} duplicate prediction ids, first: {dupes[:_FIRST]}"
        )
    items = set(item_ids)
    missing = [i for i in item_ids if i not in seen]
    extra = [p for p in pred_ids if p not in items]
    if missing or extra:
        raise BenchmarkDataError(
            predictions,
            f"predictions do not match the benchmark items in {data}: "
            f"{len(pred_ids)} predictions vs {len(item_ids)} items; "
            f"{len(missing)} item ids without a prediction (first: {missing[:_FIRST]}); "
            f"{len(extra)} prediction ids not in the benchmark (first: {extra[:_FIRST]})",
        )
    return seen
