"""Content hashes of media items, for keying stored results on *what* was judged.

Rules (all SHA-256, lowercase hex):

* a file: its bytes, so the digest equals ``sha256sum FILE`` (read in 1 MiB chunks);
* a folder (frame folder): the frame images in load order, each as its name and its
  file digest;
* a numpy array: dtype, shape and C-order bytes (equal values, shapes and dtypes, equal key);
* a PIL image: mode, size and pixel bytes (not the encoded file, so a PNG and the same
  pixels in memory agree);
* a :class:`VideoClip` / :class:`AudioClip`: the samples plus their timing (rate or
  timestamps), since the same pixels at another fps are another input;
* a molecule (SMILES, MOL block, .mol/.sdf/.smi path, RDKit Mol, :class:`Molecule`): its
  canonical SMILES, so ``OCC`` and ``CCO`` share a key. Pass ``kind="molecule"`` for a
  molecule file, or it is hashed as a file.

A ``str`` is a path when the file or folder exists, else a molecule; ``kind`` ("file" or
"molecule") forces the reading.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge.errors import ConfigError, MediaError

_CHUNK = 1 << 20


def media_digest(item: Any, *, kind: str | None = None) -> str:
    """SHA-256 hex digest of a media item's content (see the module rules)."""
    from flexjudge.media.audio import AudioClip
    from flexjudge.media.video import VideoClip

    if kind not in (None, "file", "molecule"):
        raise ConfigError(f"unknown digest kind {kind!r}: use 'file' or 'molecule'")
    if kind == "molecule":
        return _molecule_digest(item)
    if isinstance(item, VideoClip):
        h = _array_hash(item.frames)
        h.update(repr(item.timestamps).encode())
        return h.hexdigest()
    if isinstance(item, AudioClip):
        h = _array_hash(item.samples)
        h.update(f"rate={item.rate}".encode())
        return h.hexdigest()
    if isinstance(item, np.ndarray):
        return _array_hash(item).hexdigest()
    if _is_pil(item):
        h = hashlib.sha256(f"{item.mode}:{item.size[0]}x{item.size[1]}:".encode())
        h.update(item.tobytes())
        return h.hexdigest()
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if kind == "file" or isinstance(item, os.PathLike) or path.exists():
            return _path_digest(path)
        try:
            return _molecule_digest(item)
        except MediaError:
            if re.fullmatch(r"\.[A-Za-z][A-Za-z0-9]{0,4}", path.suffix):  # "clips/a.mp4"
                raise MediaError(
                    f"media file {item!r} does not exist (nor is it a valid SMILES)"
                ) from None
            raise
    return _molecule_digest(item)


def _array_hash(a: np.ndarray) -> hashlib._Hash:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.str}:{a.shape}:".encode())
    h.update(a.tobytes())
    return h


def _is_pil(item: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a core dependency
        return False
    return isinstance(item, Image.Image)


def _path_digest(path: Path) -> str:
    if path.is_dir():
        from flexjudge.media.video import DEFAULT_VIDEO_LIMITS, _frame_files

        h = hashlib.sha256(b"frames:")
        for f in _frame_files(path, DEFAULT_VIDEO_LIMITS):
            h.update(f"{f.name}:{file_digest(f)};".encode())
        return h.hexdigest()
    return file_digest(path)


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (same as ``sha256sum``), naming the file on failure."""
    p = Path(path)
    h = hashlib.sha256()
    try:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
    except FileNotFoundError as exc:
        raise MediaError(f"media file {str(p)!r} does not exist") from exc
    except OSError as exc:
        raise MediaError(f"media file {str(p)!r} cannot be read: {exc.strerror or exc}") from exc
    return h.hexdigest()


def _molecule_digest(item: Any) -> str:
    from flexjudge.media.molecules import Molecule, canonical_smiles, is_rdkit_mol

    if isinstance(item, (str, os.PathLike, Molecule)) or is_rdkit_mol(item):
        return hashlib.sha256(canonical_smiles(item).encode("utf-8")).hexdigest()
    raise MediaError(
        f"cannot digest a value of type {type(item).__name__}: pass a path, an "
        f"array, a PIL image, a clip or a molecule"
    )


__all__ = ["file_digest", "media_digest"]
