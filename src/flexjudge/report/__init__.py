"""The HTML report of a run: what an evaluator opens first.

:func:`load_run` reads a run (an eval folder or a ``flexjudge run`` output with its request
file); :func:`build_report` writes one self-contained HTML page - the overview, the bias audit
with inline SVG plots, and a paginated, filterable items table whose rows open the request,
its media, every vote and the gold; :func:`build_comparison` writes the page comparing two
runs on the same items. The statistics are pure functions over verdict JSON objects
(:func:`audit` gathers them for ``metrics.json``). Needs the ``report`` extra (Jinja2,
matplotlib, SciPy).
"""

from flexjudge.bench.audit import (
    DEFAULT_AGREEMENT_EDGES,
    DEFAULT_LENGTH_EDGES,
    agreement_reliability,
    audit,
    category_accuracy,
    item_correct,
    length_bias,
    order_swap,
    per_order_outcomes,
    position_bias,
    response_lengths,
    score_error,
    score_histograms,
    score_length,
    status_summary,
    tie_rates,
)
from flexjudge.bench.gold import benchmark_gold
from flexjudge.report._audit import audit_run
from flexjudge.report._compare import build_comparison, compare_runs
from flexjudge.report._page import PageOptions, build_report
from flexjudge.report._run import Run, RunItem, load_run
from flexjudge.run.items import Gold, ItemRecord, ItemsWriter, read_items

__all__ = [
    "DEFAULT_AGREEMENT_EDGES",
    "DEFAULT_LENGTH_EDGES",
    "Gold",
    "ItemRecord",
    "ItemsWriter",
    "PageOptions",
    "Run",
    "RunItem",
    "agreement_reliability",
    "audit",
    "audit_run",
    "benchmark_gold",
    "build_comparison",
    "build_report",
    "category_accuracy",
    "compare_runs",
    "item_correct",
    "length_bias",
    "load_run",
    "order_swap",
    "per_order_outcomes",
    "position_bias",
    "read_items",
    "response_lengths",
    "score_error",
    "score_histograms",
    "score_length",
    "status_summary",
    "tie_rates",
]
