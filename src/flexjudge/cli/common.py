"""What every command shares: messages to stderr (stdout is for results only), and JSON on
stdout that is exactly one document."""

from __future__ import annotations

import json
from typing import Any

import click


def info(message: str) -> None:
    """One plain line on stderr (no markup, no wrapping: scripts and tests read it)."""
    click.echo(message, err=True)


def echo_json(obj: Any) -> None:
    """``obj`` as one JSON document on stdout (never NaN: it is not JSON)."""
    click.echo(json.dumps(obj, ensure_ascii=False, allow_nan=False, default=str))
