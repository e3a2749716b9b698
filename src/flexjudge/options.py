"""Declared options: a setting is written once, as a dataclass field or an engine's option
spec, with its default, type and help; the command line, YAML recipe files and the Python API
are derived from the declaration (see :mod:`flexjudge.cli.declared`). No click here: this
module sits at the bottom of the house."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MISSING = dataclasses.MISSING


@dataclass(frozen=True)
class OptionSpec:
    """One setting. ``name`` is the Python name (``max_new_tokens``); the flag is
    ``--max-new-tokens`` unless ``flag`` says otherwise. ``type`` is ``int``, ``float``, ``str``
    or ``bool`` (a ``--x/--no-x`` switch); ``choices`` restricts a string; ``default=None``
    means "not set" (the library's own default applies, shown in ``help``)."""

    name: str
    default: Any
    help: str
    type: type = str
    choices: tuple[str, ...] | None = None
    short: str | None = None
    flag: str | None = None
    multiple: bool = False
    #: Where the value goes, when that is not ``name`` (e.g. TRL's ``learning_rate`` for ``lr``).
    target: str | None = None

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


def option(
    default: Any,
    help: str,
    *,
    choices: Sequence[str] | None = None,
    short: str | None = None,
    flag: str | None = None,
    cli: bool = True,
    target: str | None = None,
) -> Any:
    """A dataclass field that declares a setting (see :func:`specs_of`)."""
    meta = {
        "help": help,
        "choices": tuple(choices) if choices else None,
        "short": short,
        "flag": flag,
        "cli": cli,
        "target": target,
    }
    return field(default=default, metadata={"option": meta})


def _base_type(hint: Any) -> tuple[type, bool]:
    """(scalar type, is a list) of an annotation such as ``int | None`` or ``tuple[str, ...]``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _base_type(args[0]) if args else (str, False)
    if origin is typing.Literal:
        return type(typing.get_args(hint)[0]), False
    if origin in (tuple, list):
        inner = typing.get_args(hint)[0] if typing.get_args(hint) else str
        return _base_type(inner)[0], True
    return (hint, False) if isinstance(hint, type) else (str, False)


def specs_of(cls: type) -> list[OptionSpec]:
    """The :class:`OptionSpec` of every field of dataclass ``cls`` declared with
    :func:`option` (and ``cli=True``), in field order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("option")
        if meta is None or not meta["cli"]:
            continue
        kind, multiple = _base_type(hints[f.name])
        choices = meta["choices"]
        if choices is None and typing.get_origin(hints[f.name]) is typing.Literal:
            choices = tuple(str(a) for a in typing.get_args(hints[f.name]))
        out.append(
            OptionSpec(
                f.name,
                f.default,
                meta["help"],
                kind,
                choices,
                meta["short"],
                meta["flag"],
                multiple,
                meta["target"],
            )
        )
    return out


def field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))
