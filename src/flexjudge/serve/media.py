"""Which media a request may bring, and from where.

Rules (every media list of a request and of each of its responses):

* **Inline:** a ``data:<type>;base64,<payload>`` URL, decoded strictly (bad base64 is refused),
  of a type that fits its field (``image/png`` in ``images``, ``video/mp4`` in ``videos``...).
  Its bytes are written once into the server's spool folder under their sha256, so the engine
  reads a file and the store keys it by content (a repeat hits the store whatever its name).
* **Paths:** only relative paths under ``--media-root``, and only when the server has one. An
  absolute path, ``~``, any ``..`` part, a NUL byte, and any symlink on the way (even one that
  points back inside the root) are refused: the path handed to the engine is the real path
  that was checked. A folder is taken only where the engine takes one (a video as a folder of
  frames) and may hold no symlinks either.
* **Not at all:** ``http(s)://`` and other URLs (the server fetches nothing on a client's
  behalf) and ``file:`` URLs.
* A refused item is an :class:`~flexjudge.errors.InputError` naming the field and the value
  (the request's verdict becomes an ``"error"``); media over the request's byte budget raise
  :class:`MediaBudgetExceeded` (the whole HTTP request is refused with 413).
* SMILES strings in ``molecules`` are text and pass as they are; molecule *files* (``.mol``,
  ``.sdf``...) follow the path and inline rules.

The root must not be writable by the clients it protects against: a path is checked and then
read, and a folder swapped for a symlink in between would be followed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import threading
from pathlib import Path, PurePosixPath
from typing import Any

from flexjudge.errors import ConfigError, InputError
from flexjudge.media.molecules import is_molecule_file

#: Inline types accepted per field, and the suffix their spool file gets (the loaders read
#: some formats by suffix).
INLINE_TYPES: dict[str, dict[str, str]] = {
    "images": {
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/webp": ".webp",
        "image/gif": ".gif",
        "image/bmp": ".bmp",
        "image/tiff": ".tif",
    },
    "videos": {
        "video/mp4": ".mp4",
        "video/webm": ".webm",
        "video/quicktime": ".mov",
        "image/gif": ".gif",
    },
    "audios": {
        "audio/wav": ".wav",
        "audio/x-wav": ".wav",
        "audio/wave": ".wav",
        "audio/flac": ".flac",
        "audio/mpeg": ".mp3",
        "audio/ogg": ".ogg",
    },
    "molecules": {
        "chemical/x-mdl-molfile": ".mol",
        "chemical/x-mdl-sdfile": ".sdf",
    },
}
_FIELDS = tuple(INLINE_TYPES)
#: Fields whose items may be folders (a video as a folder of frames).
_FOLDER_FIELDS = frozenset({"videos"})
_DATA_URL = re.compile(r"^data:([A-Za-z0-9.+/-]+)((?:;[A-Za-z0-9=._-]+)*?);base64,", re.ASCII)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class MediaBudgetExceeded(Exception):
    """The media of one HTTP request add up to more than the server takes."""


class MediaBudget:
    """Bytes of media one HTTP request may still bring."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, n: int, what: str) -> None:
        self.used += n
        if self.used > self.limit:
            raise MediaBudgetExceeded(
                f"media add up to more than {self.limit} bytes in this request ({what} "
                f"brought the total to {self.used})"
            )


class MediaPolicy:
    """Turns the media references of a request's fields into paths the engine may read."""

    def __init__(self, root: str | os.PathLike[str] | None, spool: str | os.PathLike[str]):
        self.root: Path | None = None
        if root is not None:
            try:
                self.root = Path(root).resolve(strict=True)
            except OSError:
                raise ConfigError(f"--media-root {str(root)!r} does not exist") from None
            if not self.root.is_dir():
                raise ConfigError(f"--media-root {str(root)!r} is not a folder")
        self.spool = Path(spool)
        self.spool.mkdir(parents=True, exist_ok=True)

    def resolve(self, fields: dict[str, Any], budget: MediaBudget) -> dict[str, Any]:
        """``fields`` with every media reference replaced by a checked path (module rules).
        Values that are not lists of strings are left for the request schema to refuse."""
        out = self._lists(fields, budget, "")
        responses = out.get("responses")
        if isinstance(responses, list):
            out["responses"] = [
                self._lists(r, budget, f"responses[{i}].") if isinstance(r, dict) else r
                for i, r in enumerate(responses)
            ]
        return out

    def _lists(self, fields: dict[str, Any], budget: MediaBudget, where: str) -> dict[str, Any]:
        out = dict(fields)
        for name in _FIELDS:
            items = out.get(name)
            if isinstance(items, list):
                out[name] = [
                    self._item(v, name, f"{where}{name}[{k}]", budget) if isinstance(v, str) else v
                    for k, v in enumerate(items)
                ]
        return out

    def _item(self, value: str, field: str, where: str, budget: MediaBudget) -> str:
        if field == "molecules" and not value.startswith("data:") and not is_molecule_file(value):
            return value  # SMILES: text, not a file
        if value.startswith("data:"):
            return self._inline(value, field, where, budget)
        if _URL.match(value) or value.lower().startswith("file:"):
            raise InputError(
                f"{where}: URLs are not fetched by the server; send the bytes inline as a "
                "base64 data URL"
            )
        return str(self._confined(value, field, where, budget))

    # -- inline ----------------------------------------------------------------------------
    def _inline(self, value: str, field: str, where: str, budget: MediaBudget) -> str:
        m = _DATA_URL.match(value)
        if m is None:
            raise InputError(f"{where}: a data URL must read data:<type>;base64,<payload>")
        kind = m.group(1).lower()
        suffix = INLINE_TYPES[field].get(kind)
        if suffix is None:
            raise InputError(
                f"{where}: type {kind!r} does not fit {field} (use "
                f"{', '.join(sorted(INLINE_TYPES[field]))})"
            )
        payload = value[m.end() :]
        # Each 4 base64 characters decode to 3 bytes: refuse before decoding a huge payload.
        budget.spend(len(payload) * 3 // 4, where)
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise InputError(f"{where}: the base64 payload is not valid base64") from None
        if not data:
            raise InputError(f"{where}: the inline {field[:-1]} is empty")
        name = hashlib.sha256(data).hexdigest()[:40] + suffix
        path = self.spool / name
        if not path.exists():
            tmp = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # readers never see a half-written file
        return str(path)

    # -- paths -----------------------------------------------------------------------------
    def _confined(self, value: str, field: str, where: str, budget: MediaBudget) -> Path:
        if self.root is None:
            raise InputError(
                f"{where}: media paths are refused (the server has no --media-root); send the "
                "file inline as a base64 data URL"
            )
        if "\x00" in value or not value.strip():
            raise InputError(f"{where}: not a usable path")
        rel = PurePosixPath(value)
        if rel.is_absolute() or value.startswith(("~", "\\")) or re.match(r"^[A-Za-z]:", value):
            raise InputError(
                f"{where}: {value!r} is absolute; paths are relative to the media root"
            )
        if ".." in rel.parts:
            raise InputError(f"{where}: {value!r} leaves the media root ('..' is refused)")
        candidate = self.root.joinpath(*rel.parts)
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            raise InputError(f"{where}: {value!r} does not exist under the media root") from None
        if real != candidate or not real.is_relative_to(self.root):
            raise InputError(f"{where}: {value!r} goes through a symlink, which is refused")
        if real.is_dir():
            if field not in _FOLDER_FIELDS:
                raise InputError(f"{where}: {value!r} is a folder, not a file")
            budget.spend(self._folder_size(real, where, value), where)
        elif real.is_file():
            budget.spend(real.stat().st_size, where)
        else:
            raise InputError(f"{where}: {value!r} is not a regular file")
        return real

    @staticmethod
    def _folder_size(folder: Path, where: str, value: str) -> int:
        total = 0
        for entry in folder.iterdir():
            if entry.is_symlink():
                raise InputError(f"{where}: {value!r} holds a symlink, which is refused")
            if entry.is_file():
                total += entry.stat().st_size
        return total
