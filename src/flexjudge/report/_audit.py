"""The bias audit of a loaded run (the statistics are :mod:`flexjudge.bench.audit`)."""

from __future__ import annotations

from typing import Any

from flexjudge.bench.audit import audit, response_lengths
from flexjudge.report._run import Run


def audit_run(run: Run) -> dict[str, Any]:
    """:func:`audit` of a loaded run (:func:`flexjudge.report.load_run`)."""
    return audit(
        [i.verdict for i in run.items],
        [i.gold for i in run.items],
        [i.group for i in run.items],
        [response_lengths(i.request) for i in run.items],
    )
