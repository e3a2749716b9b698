"""Helpers for writing down the paper's numbers, which each benchmark module keeps beside its
scorer (``Benchmark.paper``: split -> metric -> checkpoint -> value).

Source: Flex-Judge, arXiv 2505.18601 v4 (Tables 1-4, 7, 10), as transcribed in
``shared/reference/paper.md`` §4. Rates are fractions (the tables' percentages / 100) so they
compare directly with ``metrics.json``; ``@vote`` marks a majority-voting row.
"""

from __future__ import annotations

from flexjudge.bench.spec import PaperNumbers

VL, OMNI = "Flex-VL-7B", "Flex-Omni-7B"

__all__ = ["OMNI", "VL", "pair", "pct", "raw"]


def pair(vl: float | None, omni: float | None) -> dict[str, float]:
    """Flex-VL-7B's and Flex-Omni-7B's value of one metric (``None``: not reported)."""
    return {k: v for k, v in ((VL, vl), (OMNI, omni)) if v is not None}


def pct(**rows: tuple[float | None, float | None]) -> PaperNumbers:
    """Metric -> (Flex-VL-7B %, Flex-Omni-7B %), as fractions."""
    return {
        k: pair(*(None if v is None else round(v / 100, 6) for v in values))
        for k, values in rows.items()
    }


def raw(**rows: tuple[float | None, float | None]) -> PaperNumbers:
    """Metric -> (Flex-VL-7B, Flex-Omni-7B), as printed (correlations, distances)."""
    return {k: pair(*values) for k, values in rows.items()}
