"""Render a ``metrics.json`` result as Markdown: the metrics with the paper's numbers beside
ours and the invalid rate beside every value, then position bias, counts and the protocol."""

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


def _invalid(m: Mapping[str, Any]) -> str:
    n, bad = m.get("n") or 0, m.get("n_invalid") or 0
    return f"{bad} ({100 * bad / n:.1f} %)" if n else str(bad)


def render_markdown(result: Mapping[str, Any]) -> str:
    """A heading, then ``metric | ours | paper... | n | invalid``, bias, counts and notes."""
    lines = [f"### {result.get('benchmark', '?')} — {result.get('split', '?')}", ""]
    paper: Mapping[str, Mapping[str, float]] = result.get("paper") or {}
    models = sorted({model for row in paper.values() for model in row})
    head = ["metric", "ours", *(f"paper {m}" for m in models), "n", "invalid"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    notes: list[str] = []
    for name, m in result.get("metrics", {}).items():
        kind = m.get("kind", "rate")
        published = [
            format_value(paper[name][model], kind) if model in paper.get(name, {}) else ""
            for model in models
        ]
        lines.append(
            "| "
            + " | ".join(
                [
                    _cell(name),
                    format_value(m.get("value"), kind),
                    *published,
                    str(m.get("n", "")),
                    _invalid(m),
                ]
            )
            + " |"
        )
        if m.get("note"):
            notes.append(f"- {_cell(name)}: {_cell(m['note'])}")
    lines.append("")
    bias = result.get("position_bias")
    if bias:
        lines += ["Position bias (over votes):", ""]
        lines += ["| statistic | value |", "|---|---:|"]
        for k, v in bias.items():
            shown = "n/a" if v is None else (f"{100 * v:.2f} %" if isinstance(v, float) else str(v))
            lines.append(f"| {k} | {shown} |")
        lines.append("")
    counts = result.get("counts")
    if counts:
        lines += ["Counts: " + ", ".join(f"{k} = {v}" for k, v in counts.items()), ""]
    protocol = result.get("protocol")
    if isinstance(protocol, Mapping):
        lines += [
            "Protocol: " + "; ".join(f"{k} = {v}" for k, v in protocol.items() if v != ""),
            "",
        ]
    elif protocol:
        lines += [f"Protocol: {protocol}", ""]
    if result.get("metric_rules"):
        lines += [f"Metric rules: {result['metric_rules']}", ""]
    if notes:
        lines += ["Notes:", *notes, ""]
    return "\n".join(lines)
