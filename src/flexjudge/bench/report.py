"""Render a :func:`~flexjudge.bench.predictions.score_predictions` result as Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["format_value", "render_markdown"]


def format_value(value: float | None, kind: str = "rate") -> str:
    """Rates as percentages with two decimals (how the benchmarks publish them), correlations
    and distances with four decimals, an undefined value as ``n/a``."""
    if value is None:
        return "n/a"
    if kind == "rate":
        return f"{100 * value:.2f} %"
    return f"{value:.4f}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: Mapping[str, Any]) -> str:
    """A heading, a ``metric | value | n | invalid`` table, then the counts and notes."""
    lines = [f"### {result.get('benchmark', '?')} — {result.get('split', '?')}", ""]
    lines += ["| metric | value | n | invalid |", "|---|---:|---:|---:|"]
    notes: list[str] = []
    for name, m in result.get("metrics", {}).items():
        lines.append(
            f"| {_cell(name)} | {format_value(m.get('value'), m.get('kind', 'rate'))} "
            f"| {m.get('n', '')} | {m.get('n_invalid', '')} |"
        )
        if m.get("note"):
            notes.append(f"- {_cell(name)}: {_cell(m['note'])}")
    lines.append("")
    counts = result.get("counts")
    if counts:
        lines.append("Counts: " + ", ".join(f"{k} = {v}" for k, v in counts.items()))
        lines.append("")
    if result.get("protocol"):
        lines += [f"Protocol: {result['protocol']}", ""]
    if notes:
        lines += ["Notes:", *notes, ""]
    return "\n".join(lines)
