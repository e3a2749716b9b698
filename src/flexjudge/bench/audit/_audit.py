"""Every statistic of the report in one JSON-ready dict (what ``metrics.json`` exports under
``bias_audit``), from verdicts and, where known, golds, groups and the responses' lengths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flexjudge.bench.audit.bias import (
    Golds,
    Verdicts,
    length_bias,
    order_swap,
    position_bias,
    score_length,
    tie_rates,
)
from flexjudge.bench.audit.quality import (
    agreement_reliability,
    category_accuracy,
    score_histograms,
    status_summary,
)

__all__ = ["LENGTH_UNIT", "audit", "response_lengths"]

#: How lengths are counted: white-space separated words, as ``flexjudge curate`` counts them
#: without a tokenizer (``curate.lengths.WhitespaceCounter``; not imported: ``curate`` pulls
#: in the training stack).
LENGTH_UNIT = "whitespace"


def response_lengths(request: Mapping[str, Any] | None) -> list[int] | None:
    """Each response's length in white-space words; ``None`` when the request is unknown or
    a response has no text (an image or a clip has no length to compare)."""
    if not request or not isinstance(request.get("responses"), list):
        return None
    out = []
    for r in request["responses"]:
        text = r.get("text", "") if isinstance(r, Mapping) else str(r)
        if not str(text).strip():
            return None
        out.append(len(str(text).split()))
    return out


def audit(
    verdicts: Verdicts,
    golds: Golds = None,
    groups: Sequence[str | None] | None = None,
    lengths: Sequence[Sequence[int] | None] | None = None,
) -> dict[str, Any]:
    """All statistics; the human side of each only where ``golds`` are given."""
    n = len(verdicts)
    lengths = lengths if lengths is not None else [None] * n
    groups = groups if groups is not None else [None] * n
    has_gold = golds is not None and any(g is not None for g in golds)
    out: dict[str, Any] = {
        "status": status_summary(verdicts),
        "position": position_bias(verdicts, golds),
        "order_swap": order_swap(verdicts),
        "ties": tie_rates(verdicts, golds),
        "length": length_bias(verdicts, lengths, golds),
        "score_length": score_length(verdicts, lengths),
        "scores": score_histograms(verdicts, groups, golds),
        "agreement": agreement_reliability(verdicts, golds),
        "length_unit": LENGTH_UNIT,
    }
    if has_gold:
        out["categories"] = category_accuracy(verdicts, golds, groups)
    return out
