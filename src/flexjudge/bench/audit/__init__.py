"""The bias audit: position bias, order-swap flips, ties against the human tie rate, length
bias, score histograms, vote agreement as a confidence, per-category accuracy - pure functions
over verdict JSON objects and (where known) the human labels. ``evaluate`` exports
:func:`audit` in ``metrics.json``; the HTML report draws it."""

from flexjudge.bench.audit._audit import LENGTH_UNIT, audit, response_lengths
from flexjudge.bench.audit.bias import (
    DEFAULT_LENGTH_EDGES,
    length_bias,
    order_swap,
    per_order_outcomes,
    position_bias,
    score_length,
    tie_rates,
)
from flexjudge.bench.audit.quality import (
    DEFAULT_AGREEMENT_EDGES,
    agreement_reliability,
    category_accuracy,
    item_correct,
    score_error,
    score_histograms,
    status_summary,
)

__all__ = [
    "DEFAULT_AGREEMENT_EDGES",
    "DEFAULT_LENGTH_EDGES",
    "LENGTH_UNIT",
    "agreement_reliability",
    "audit",
    "category_accuracy",
    "item_correct",
    "length_bias",
    "order_swap",
    "per_order_outcomes",
    "position_bias",
    "response_lengths",
    "score_error",
    "score_histograms",
    "score_length",
    "status_summary",
    "tie_rates",
]
