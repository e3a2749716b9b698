"""Helpers shared by the media loaders: resolving a source path and turning library
exceptions into one-line causes. Every failure is a :class:`flexjudge.errors.MediaError` whose
message names the item and the cause; a bad *setting* (a negative fps...) is a
:class:`flexjudge.errors.ConfigError`, since it is the caller's bug, not the file's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flexjudge.errors import ConfigError, MediaError


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type when the message is empty."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def existing_path(source: Any, kind: str, *, allow_dir: bool = False) -> Path:
    """``source`` as a :class:`Path` that exists (a file, or a folder when ``allow_dir``).

    ``kind`` ("video", "audio"...) starts the message: ``video 'clips/a.mp4' does not exist``.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise MediaError(f"unsupported {kind} value of type {type(source).__name__}: pass a path")
    path = Path(source)
    if path.is_file() or (allow_dir and path.is_dir()):
        return path
    if path.is_dir():
        raise MediaError(f"{kind} {str(path)!r} is a folder, not a file")
    raise MediaError(f"{kind} {str(path)!r} does not exist")


def check_positive(name: str, value: float | int | None) -> None:
    if value is None or not value > 0:
        raise ConfigError(f"{name} must be positive, got {value!r}")


def require(module: str, purpose: str) -> Any:
    """Import an optional dependency of the ``media`` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MediaError(
            f"{purpose} needs the optional package {module.split('.')[0]!r}: "
            f"pip install 'flexjudge[media]'"
        ) from exc
