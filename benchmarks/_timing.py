"""Shared by the benchmark scripts (run as `python benchmarks/NAME.py`, so this folder is on
sys.path)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time over ``repeat`` runs, after one warm-up run."""
    result = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def save_results(path: Path | None, results: dict) -> None:
    """Write a benchmark's results as JSON next to its printed table (when --out is given)."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
