"""Media for a remote judge: local images, files and PIL images become base64 data URLs that
``flexjudge serve`` accepts inline (see :mod:`flexjudge.serve.media`)."""

from __future__ import annotations

import base64
import io
import mimetypes
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flexjudge.errors import InputError
from flexjudge.media.molecules import is_molecule_file

MEDIA_FIELDS = ("images", "videos", "audios", "molecules")
_EXTRA_TYPES = {
    ".mol": "chemical/x-mdl-molfile",
    ".sdf": "chemical/x-mdl-sdfile",
    ".wav": "audio/wav",
}


def data_url(value: Any) -> Any:
    """``value`` as a data URL: a PIL image as PNG, a local file by its suffix's type. Strings
    that are already data URLs, and anything else (SMILES...), are returned as they are."""
    if hasattr(value, "save") and hasattr(value, "mode"):  # a PIL image, without importing PIL
        buf = io.BytesIO()
        value.save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    if not isinstance(value, (str, os.PathLike)):
        return value
    text = os.fspath(value)
    if text.startswith("data:"):
        return text
    path = Path(text)
    if path.is_dir():
        raise InputError(
            f"{text!r} is a folder: a remote judge takes folders (frames of a video) only by "
            "a path under its --media-root; pass inline_media=False and a relative path"
        )
    if not path.is_file():
        return text  # not a local file (a SMILES string, or a path meant for the server)
    kind = _EXTRA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if kind is None:
        raise InputError(f"{text!r}: unknown media type of suffix {path.suffix!r}")
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def inline_media(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Request fields with every media item (shared and per response) as a data URL."""
    out = _inline_lists(fields)
    responses = out.get("responses")
    if isinstance(responses, list):
        out["responses"] = [_inline_lists(r) if isinstance(r, Mapping) else r for r in responses]
    return out


def _inline_item(field: str, value: Any) -> Any:
    if field == "molecules" and isinstance(value, str) and not is_molecule_file(value):
        return value  # SMILES: text, not a file
    return data_url(value)


def _inline_lists(fields: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for name in MEDIA_FIELDS:
        items = out.get(name)
        if isinstance(items, (list, tuple)):
            out[name] = [_inline_item(name, v) for v in items]
    return out
