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
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from flexjudge.errors import InputError
from flexjudge.io import AtomicWriter, iter_json_objects
from flexjudge.prompts.protocol import LABELS

__all__ = ["ItemRecord", "ItemsWriter", "read_items"]

_MEDIA_FIELDS = ("images", "videos", "audios")


_WINNERS = ("A", "B", "tie")


@dataclass(frozen=True)
class Gold:
    """What the humans said about one item; every field is optional (``None``: not known).

    ``winner``: ``"A"``, ``"B"`` or ``"tie"`` in request order. ``label``: one of the four
    verdict labels. ``score``: the human score (MOS, 1-5 rating). ``ranking``: response
    letters, best first. ``raw``: the benchmark's own value, shown as is.
    """

    winner: str | None = None
    label: str | None = None
    score: float | None = None
    ranking: tuple[str, ...] | None = None
    raw: Any = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.winner is not None:
            out["winner"] = self.winner
        if self.label is not None:
            out["label"] = self.label
        if self.score is not None:
            out["score"] = self.score
        if self.ranking is not None:
            out["ranking"] = list(self.ranking)
        if self.raw is not None:
            out["raw"] = self.raw
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Gold:
        """Read the ``gold`` object of an ``items.jsonl`` line; ``where`` names the line."""
        if not isinstance(obj, Mapping):
            raise InputError(f"{where}: gold must be an object, got {obj!r}")
        unknown = sorted(set(obj) - {"winner", "label", "score", "ranking", "raw"})
        if unknown:
            raise InputError(
                f"{where}: unknown gold field(s) {unknown}; use winner, label, score, ranking, raw"
            )
        winner, label, score, ranking = (
            obj.get(k) for k in ("winner", "label", "score", "ranking")
        )
        if winner is not None and winner not in _WINNERS:
            raise InputError(f"{where}: gold winner {winner!r} is not one of {list(_WINNERS)}")
        if label is not None and label not in LABELS:
            raise InputError(f"{where}: gold label {label!r} is not one of {list(LABELS)}")
        if score is not None and (
            isinstance(score, bool)
            or not isinstance(score, (int, float))
            or not math.isfinite(score)
        ):
            raise InputError(f"{where}: gold score must be a finite number, got {score!r}")
        if ranking is not None and (
            not isinstance(ranking, list) or not all(isinstance(r, str) for r in ranking)
        ):
            raise InputError(f"{where}: gold ranking must be a list of letters, got {ranking!r}")
        return cls(
            winner,
            label,
            float(score) if score is not None else None,
            tuple(ranking) if ranking is not None else None,
            obj.get("raw"),
        )

    def describe(self) -> str:
        """One short line for the items table."""
        if self.label is not None:
            return self.label
        if self.ranking is not None:
            return ">".join(self.ranking)
        if self.winner is not None:
            return self.winner
        if self.score is not None:
            return f"{self.score:g}"
        return "" if self.raw is None else str(self.raw)


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
    for lineno, obj in iter_json_objects(path):
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
        self._out = AtomicWriter(self.path)  # renamed into place when the run completes

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
        self._out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

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
        """Complete the file (rename it into place)."""
        self._out.commit()

    def abort(self) -> None:
        """Leave the last complete file as it was (the partial one stays beside it)."""
        self._out.close()

    def __enter__(self) -> ItemsWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


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
