"""The registry of published judge-output formats.

Each benchmark module declares the formats its authors publish (its ``FORMATS``: a
:class:`~flexjudge.bench.spec.PredictionFormat` each, with how to recognise a file and how to
read it into the benchmark's columns); this module collects them, recognises which one a
file is, and lists them (``flexjudge eval formats``). flexjudge's own verdict JSONL is listed
too: it is read for every benchmark, by the harness. Adding a published format is adding it
to its benchmark's module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.records import peek_first_object
from flexjudge.bench.spec import PredictionFormat
from flexjudge.bench.suites import benchmark_names, canonical, suite_module
from flexjudge.bench.verdicts import looks_like_verdicts
from flexjudge.errors import ConfigError

__all__ = [
    "BENCHMARKS",
    "VERDICTS",
    "Recognised",
    "benchmarks_with_formats",
    "formats_listing",
    "prediction_formats",
    "recognise",
]

#: The name under which flexjudge's own verdict files are recognised.
VERDICTS = "flexjudge_verdicts"

#: The benchmarks with published formats (a test keeps it equal to
#: :func:`benchmarks_with_formats`, which imports every benchmark module to find out).
BENCHMARKS: tuple[str, ...] = ("genai_bench", "mj_bench", "pandalm")

#: What :func:`recognise` found: the format (``None`` for flexjudge verdicts) and its name.
Recognised = tuple[PredictionFormat | None, str]


def prediction_formats(benchmark: str | None = None) -> list[PredictionFormat]:
    """The published formats of ``benchmark`` (aliases accepted), or of every benchmark."""
    names = [canonical(benchmark)] if benchmark is not None else benchmark_names()
    found: list[PredictionFormat] = []
    for name in names:
        found += list(getattr(suite_module(name), "FORMATS", ()))
    return found


def benchmarks_with_formats() -> tuple[str, ...]:
    """The benchmarks whose published judge outputs can be scored."""
    return tuple(dict.fromkeys(f.benchmark for f in prediction_formats()))


def recognise(benchmark: str, path: Path) -> Recognised:
    """Which format ``path`` is, for ``benchmark``: flexjudge verdicts, or one of the
    benchmark's published formats; anything else raises naming the formats it could be."""
    kind, first = peek_first_object(path)
    if kind == "lines" and looks_like_verdicts(first):
        return None, VERDICTS
    formats = prediction_formats(benchmark)
    if not formats:
        raise ConfigError(
            f"{canonical(benchmark)}: only flexjudge verdict files can be scored; published "
            f"judge-output formats are read for {', '.join(BENCHMARKS)}"
        )
    for fmt in formats:
        if fmt.recognise(kind, first, path):
            return fmt, fmt.name
    expected = [VERDICTS, *(f"{f.name} ({f.summary})" for f in formats)]
    what = "a folder" if kind == "folder" else "a JSON array" if kind == "array" else "JSONL"
    raise BenchmarkDataError(
        path,
        f"{what} that is no {canonical(benchmark)} predictions format; expected one of: "
        + "; ".join(expected),
    )


def formats_listing(formats: Sequence[PredictionFormat] | None = None) -> str:
    """The formats as a Markdown table (``flexjudge eval formats``)."""
    rows = [
        "| format | benchmark | what it is | --data | how it is read |",
        "|---|---|---|---|---|",
        f"| {VERDICTS} | every benchmark | flexjudge verdict JSONL (a run's verdicts.jsonl; "
        "repeat --predictions for the shards of a run) | required (the items) | "
        "matched to the items by id; scored by the benchmark's own scorer |",
    ]
    for f in prediction_formats() if formats is None else formats:
        what = f.summary + ("; several files or a folder" if f.several else "")
        rows.append(f"| {f.name} | {f.benchmark} | {what} | {f.data} | {f.rules} |")
    return "\n".join(rows)
