"""``items.jsonl``: what a run judged, beside its verdicts, so a report can show it.

Verdicts carry neither the request nor the human label. A run writes them here, one JSON
object per line, keyed by the verdict ``id``::

    {"id": "17", "request": {"task": "pairwise", "instruction": "...", "responses": [...],
     "images": ["img/17.png"]}, "gold": {"winner": "B", "raw": "B"}, "group": "coco"}

* ``request``: the request fields as ``flexjudge run`` takes them (README, "Request files").
  Media are paths; a relative path is read against this file's folder. Media held in memory
  (a PIL image from a hub dataset, an audio array) are saved by :class:`ItemsWriter` under
  ``media/`` beside the file, named by their content digest.
* ``gold`` (optional): a :class:`~flexjudge.report.Gold` object.
* ``group`` (optional): the category, source dataset or split the item is scored in.

A plain ``flexjudge run`` request file is read the same way (its lines *are* requests, ids
default to ``line N``, and it has no gold), so the report of a run needs no extra file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from flexjudge.bench.records import iter_jsonl
from flexjudge.errors import InputError
from flexjudge.report._gold import Gold

__all__ = ["ItemRecord", "ItemsWriter", "read_items"]

_MEDIA_FIELDS = ("images", "videos", "audios")


@dataclass(frozen=True)
class ItemRecord:
    """One line of ``items.jsonl`` (or of a request file), media paths resolved."""

    id: str
    request: dict[str, Any]
    gold: Gold | None = None
    group: str | None = None
    line: int = 0


def read_items(path: Path | str) -> Iterator[ItemRecord]:
    """Stream an ``items.jsonl`` or a ``flexjudge run`` request file; a malformed line raises
    :class:`~flexjudge.bench.BenchmarkDataError` naming the file and the line."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        where = f"{path}, line {lineno}"
        if "request" in obj:
            if obj.get("id") is None:
                raise InputError(f"{where}: an items line needs an id")
            request = obj["request"]
            if not isinstance(request, dict):
                raise InputError(f"{where}: request must be an object")
            gold = Gold.from_json(obj["gold"], where) if obj.get("gold") is not None else None
            group = obj.get("group")
            rid = str(obj["id"])
        else:  # a request line, as `flexjudge run` reads it
            rid = str(obj["id"]) if obj.get("id") is not None else f"line {lineno}"
            request = {k: v for k, v in obj.items() if k != "id"}
            gold, group = None, None
        yield ItemRecord(rid, _resolved(request, path.parent), gold, _text(group), lineno)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _resolved(request: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Relative media paths joined to ``base`` (the rule of :mod:`flexjudge.requests_io`)."""

    def fix(fields: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(fields)
        for key in _MEDIA_FIELDS:
            if isinstance(out.get(key), list):
                out[key] = [
                    str(base / p) if isinstance(p, str) and not Path(p).is_absolute() else p
                    for p in out[key]
                ]
        return out

    out = fix(request)
    if isinstance(out.get("responses"), list):
        out["responses"] = [fix(r) if isinstance(r, Mapping) else r for r in out["responses"]]
    return out


class ItemsWriter:
    """Writes ``items.jsonl`` while a run judges (used by ``flexjudge eval``).

    ``write`` takes the request fields the run judged (paths, or media in memory), the gold
    and the group; every line is flushed, so a killed run's items match its verdicts.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w", encoding="utf-8")

    def write(
        self,
        item_id: str,
        request: Mapping[str, Any],
        *,
        gold: Gold | None = None,
        group: str | None = None,
    ) -> None:
        line: dict[str, Any] = {"id": str(item_id), "request": self._request(request)}
        if gold is not None:
            line["gold"] = gold.as_json()
        if group is not None:
            line["group"] = str(group)
        self._fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        self._fh.flush()

    def _request(self, request: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in request.items() if k != "id"}
        for key in _MEDIA_FIELDS:
            if key in out:
                out[key] = [self._media(m, key) for m in out[key] or []]
        if isinstance(out.get("responses"), list):
            out["responses"] = [
                {
                    k: ([self._media(m, k) for m in v] if k in _MEDIA_FIELDS else v)
                    for k, v in r.items()
                }
                if isinstance(r, Mapping)
                else r
                for r in out["responses"]
            ]
        return out

    def _media(self, media: Any, kind: str) -> Any:
        """A path as a string; an in-memory image or audio array saved under ``media/``."""
        if isinstance(media, (str, Path)):
            return str(media)
        from flexjudge.media import media_digest

        folder = self.path.parent / "media"
        if kind == "images" and hasattr(media, "save") and hasattr(media, "mode"):
            name = f"{media_digest(media)[:16]}.png"
            folder.mkdir(exist_ok=True)
            if not (folder / name).exists():
                media.convert("RGB").save(folder / name)
            return f"media/{name}"
        if kind == "audios" and isinstance(media, tuple) and len(media) == 2:
            import numpy as np

            from flexjudge.media import load_audio

            clip = load_audio((np.asarray(media[0]), int(media[1])))
            name = f"{media_digest(clip)[:16]}.wav"
            folder.mkdir(exist_ok=True)
            if not (folder / name).exists():
                _write_wav(folder / name, clip.samples, clip.rate)
            return f"media/{name}"
        return f"<{kind[:-1]} held in memory: {type(media).__name__}, not saved>"

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ItemsWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _write_wav(path: Path, samples: Any, rate: int) -> None:
    """16-bit PCM mono WAV through the standard library (samples are floats in [-1, 1])."""
    import wave

    import numpy as np

    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
