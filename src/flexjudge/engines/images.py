"""Images for engines: a path or a PIL image in, an RGB PIL image out (PIL only, no torch)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PIL import Image

from flexjudge.errors import MediaError
from flexjudge.media._common import first_line


def load_image(media: Any) -> Image.Image:
    """A PIL image from a path or a PIL image; MediaError naming the file otherwise."""
    if isinstance(media, Image.Image):
        return media.convert("RGB")
    if isinstance(media, (str, os.PathLike)):
        path = Path(media)
        if path.is_dir():
            raise MediaError(f"image {str(path)!r} is a folder, not an image file")
        if not path.exists():
            raise MediaError(f"image {str(path)!r} does not exist")
        if not path.is_file():
            raise MediaError(f"image {str(path)!r} is not a regular file (a FIFO or device?)")
        try:
            with Image.open(path) as im:
                return im.convert("RGB")
        except Exception as exc:
            raise MediaError(f"image {str(path)!r} cannot be read: {first_line(exc)}") from exc
    raise MediaError(
        f"unsupported image value of type {type(media).__name__}: pass a path or a PIL image"
    )
