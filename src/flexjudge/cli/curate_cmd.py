"""``flexjudge curate CORPUS -o rows.jsonl``: seed curation (teacher traces → filter → selection)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from flexjudge.cli.common import echo_json, info
from flexjudge.curate.teacher import TeacherSettings
from flexjudge.errors import ConfigError


def _fields(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, source = pair.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise ConfigError(
                f"--field takes NAME=SOURCE (e.g. question_body=prompt), got {pair!r}"
            )
        out[name.strip()] = source.strip()
    return out


def _seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"--seeds takes integers separated by commas, got {text!r}") from None


@click.command()
@click.argument("corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Training rows (JSONL) for `flexjudge train --data`.",
)
@click.option(
    "--stats",
    "stats_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Stats report (JSON). Default: OUTPUT with .stats.json.",
)
# -- corpus
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=SOURCE",
    help="Map a JudgeLM field (question_id, question_body, answer1_body, answer2_body, "
    "score) to this corpus's key. Repeatable.",
)
@click.option("--limit", type=int, default=None, help="Use the first N corpus rows only.")
@click.option("--skip-malformed", is_flag=True, help="Leave malformed corpus rows out (counted).")
# -- teacher
@click.option(
    "--teacher",
    default=None,
    help="Teacher model to generate traces with (e.g. nuojohnchen/JudgeLRM-7B).",
)
@click.option("--engine", default="transformers", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--dtype", default="auto", show_default=True)
@click.option(
    "--traces",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Trace file (append-only JSONL). With --teacher it is generated or resumed "
    "(default: OUTPUT with .traces.jsonl); alone, it is read.",
)
@click.option(
    "--teacher-outputs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Official {prompt, text} files, aligned row by row with the corpus; the "
    "n-th file's traces get seed n. Repeatable.",
)
@click.option(
    "--seeds",
    default=",".join(map(str, TeacherSettings.seeds)),
    show_default=True,
    help="Teacher seeds.",
)
@click.option("--temperature", default=TeacherSettings.temperature, show_default=True, type=float)
@click.option("--top-p", default=TeacherSettings.top_p, show_default=True, type=float)
@click.option(
    "--max-new-tokens", default=TeacherSettings.max_new_tokens, show_default=True, type=int
)
@click.option("--batch-size", default=TeacherSettings.batch_size, show_default=True, type=int)
# -- selection
@click.option(
    "--tokenizer", default=None, help="Tokenizer to count tokens with (default: white-space words)."
)
@click.option("--n-single", default=500, show_default=True, type=int)
@click.option("--single-min-tokens", default=375, show_default=True, type=int)
@click.option("--n-pairwise", default=500, show_default=True, type=int)
@click.option("--pairwise-min-tokens", default=750, show_default=True, type=int)
@click.option(
    "--single-pick", type=click.Choice(["random", "longest"]), default="random", show_default=True
)
@click.option(
    "--cut",
    type=click.Choice(["prefix", "drop"]),
    default="prefix",
    show_default=True,
    help="prefix: Assistant 1's reasoning ends before the first sentence mentioning "
    "Assistant 2; drop: every such sentence is removed.",
)
@click.option(
    "--rescale-share",
    default=0.5,
    show_default=True,
    type=float,
    help="Probability that an example moves to the 1-5 scale.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--answer-first", is_flag=True, help="Targets with <answer> before <think> (ablation)."
)
@click.option(
    "--max-examples", type=int, default=None, help="Cap on the rows (data size ablation)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the stats as JSON.")
def curate(
    corpus: Path,
    output: Path,
    stats_path: Path | None,
    fields: tuple[str, ...],
    limit: int | None,
    skip_malformed: bool,
    teacher: str | None,
    traces: Path | None,
    teacher_outputs: tuple[Path, ...],
    tokenizer: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Curate a training set from a pairwise judging corpus (paper App. B.1).

    Traces come from exactly one source: --teacher (generated into --traces, resumable),
    --traces alone (read), or --teacher-outputs (official files)."""
    from flexjudge.curate import (
        CurateConfig,
        TokenizerCounter,
        WhitespaceCounter,
        read_corpus,
        write_result,
    )
    from flexjudge.curate import curate as run_curate

    sources = sum(
        [teacher is not None, bool(teacher_outputs), traces is not None and teacher is None]
    )
    if sources != 1:
        raise ConfigError(
            "give exactly one trace source: --teacher MODEL, --traces FILE, "
            "or --teacher-outputs FILE"
        )
    teacher_options = {k: options.pop(k) for k in _TEACHER_OPTIONS}
    config = CurateConfig(**options)  # validate before hours of generation
    data = read_corpus(corpus, fields=_fields(fields), limit=limit, skip_malformed=skip_malformed)
    trace_list = _traces(data, output, teacher, traces, teacher_outputs, teacher_options)
    count: Any = TokenizerCounter(tokenizer) if tokenizer else WhitespaceCounter()
    result = run_curate(data, trace_list, config, count)
    stats_path = stats_path or output.with_suffix(".stats.json")
    write_result(result, output, stats_path)
    if as_json:
        echo_json(result.stats)
        return
    print_stats(result.stats)
    info(f"{len(result.rows)} rows -> {output}; stats -> {stats_path}")


_TEACHER_OPTIONS = (
    "engine",
    "device",
    "dtype",
    "seeds",
    "temperature",
    "top_p",
    "max_new_tokens",
    "batch_size",
)


def _traces(
    data: Any,
    output: Path,
    teacher: str | None,
    traces: Path | None,
    teacher_outputs: tuple[Path, ...],
    opts: dict[str, Any],
) -> list[Any]:
    """The traces from the one source given: generated by --teacher, imported, or read."""
    from flexjudge.curate import generate_traces, import_official, read_traces

    if teacher_outputs:
        return [
            t
            for n, path in enumerate(teacher_outputs)
            for t in import_official(data.items, path, seed=n)
        ]
    if teacher is None:
        assert traces is not None
        return read_traces(traces)
    from flexjudge.engines import create_engine

    settings = TeacherSettings(
        seeds=_seeds(opts["seeds"]),
        temperature=opts["temperature"],
        top_p=opts["top_p"],
        max_new_tokens=opts["max_new_tokens"],
        batch_size=opts["batch_size"],
    )
    traces = traces or output.with_suffix(".traces.jsonl")
    engine = opts["engine"]
    options = {"device": opts["device"], "dtype": opts["dtype"]} if engine == "transformers" else {}
    teacher_engine = create_engine(engine, teacher, **options)
    try:
        report = _generate(
            Console(stderr=True), generate_traces, data.items, teacher_engine, traces, settings
        )
    finally:
        teacher_engine.close()  # free the teacher before tokenizer counting and selection
    info(f"teacher: {report.generated} traces generated, {report.existing} resumed -> {traces}")
    return read_traces(traces)


def _generate(
    err: Console, generate: Any, items: Any, engine: Any, path: Path, settings: Any
) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("teacher"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("teacher", total=None)
        return generate(
            items,
            engine,
            path,
            settings,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )


def print_stats(stats: dict[str, Any]) -> None:
    """The counts at each step, the scale mix and the length distributions, as tables."""
    console = Console()
    f, sel, mix = stats["filter"], stats["selection"], stats["scale_mix"]
    steps = Table(title="flexjudge curate")
    steps.add_column("step")
    steps.add_column("count", justify="right")
    invalid = ", ".join(f"{k} {v}" for k, v in f["invalid"].items()) or "none"
    for name, value in (
        ("corpus items", stats["corpus"].get("items")),
        ("malformed rows skipped", stats["corpus"].get("malformed_skipped", 0)),
        ("teacher traces", f["traces"]),
        (f"unparseable ({invalid})", f["invalid_total"]),
        ("scores differ from the reference", f["score_mismatch"]),
        ("markup in reasoning", f["markup_in_reasoning"]),
        ("correct traces", f["correct"]),
        ("prompts kept (longest correct trace)", f["prompts_kept"]),
        (
            f"pairwise eligible (> {sel['pairwise']['min_tokens']} reasoning tokens)",
            sel["pairwise"]["eligible"],
        ),
        (f"pairwise selected (of {sel['pairwise']['requested']})", sel["pairwise"]["selected"]),
        ("single: no Assistant 2 mention", sel["single"]["no_assistant2_mention"]),
        (
            f"single eligible (> {sel['single']['min_tokens']} Assistant-1 tokens)",
            sel["single"]["eligible"],
        ),
        (f"single selected (of {sel['single']['requested']})", sel["single"]["selected"]),
        ("pairwise kept at 1-10 to avoid a tie", mix["pairwise_kept_1-10_to_avoid_tie"]),
        ("rows written", stats["output"]["rows"]),
    ):
        steps.add_row(name, str(value))
    console.print(steps)
    scales = Table(title="format and scale mix")
    for col in ("format", "1-10", "1-5"):
        scales.add_column(col, justify="right" if col != "format" else "left")
    for fmt in ("pairwise", "single"):
        scales.add_row(fmt, str(mix[fmt]["1-10"]), str(mix[fmt]["1-5"]))
    console.print(scales)
    lengths = Table(title=f"lengths ({stats['output']['token_counter']})")
    keys = ("n", "min", "p25", "median", "p75", "max", "mean")
    lengths.add_column("distribution")
    for k in keys:
        lengths.add_column(k, justify="right")
    for name, summary in stats["lengths"].items():
        lengths.add_row(name, *("-" if summary[k] is None else str(summary[k]) for k in keys))
    console.print(lengths)
