"""``flexjudge eval BENCHMARK``: judge a benchmark with a model, or score existing predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flexjudge.cli.common import echo_json
from flexjudge.cli.options import engine_options, judge_kwargs

#: Judge options whose benchmark-protocol value wins unless given on the command line.
_PROTOCOL_FROM_OPTION = {
    "votes": "samples",
    "order": "order",
    "temperature": "temperature",
    "top_p": "top_p",
}


@click.command("eval")
@click.argument("benchmark")
@click.option(
    "--data",
    default=None,
    help="The benchmark: a local file in its published format, a dataset folder, or a "
    "Hugging Face dataset id.",
)
@click.option(
    "--split", default=None, help="Split (see `flexjudge eval list`) [default: the first]."
)
@click.option(
    "--predictions",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    help="Score a judge's outputs instead of judging with --model: flexjudge verdicts JSONL "
    "(repeat it for the shards of a run) or a published format (`flexjudge eval formats`; "
    "a folder for formats of one file per subset, such as MJ-Bench's).",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write verdicts.jsonl (when judging), metrics.json, report.md and the store here.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Judge only the first N items."
)
@click.option(
    "--images",
    "--media",
    "media_root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder that the benchmark's relative media paths start from.",
)
@click.option(
    "--samples",
    type=int,
    default=None,
    help="Samples per item and order [default: the benchmark's protocol]. Same as --votes.",
)
@click.option(
    "--aggregate",
    type=click.Choice(["vote", "mean", "median", "worst"]),
    default=None,
    help="Headline over samples: majority vote, or the mean/median/worst of per-sample "
    "runs [default: the benchmark's protocol].",
)
@click.option(
    "--resize",
    type=int,
    default=None,
    help="Squash images to N x N first (official runs: 448 or 336); 0 = the model's own "
    "preprocessing [default: the benchmark's protocol, i.e. the model's own].",
)
@click.option(
    "--tie/--no-tie", default=None, help="Let a pairwise judge answer a tie [default: protocol]."
)
@click.option(
    "--missing",
    type=click.Choice(["error", "skip"]),
    default="error",
    show_default=True,
    help="An item whose media file is missing: an error verdict (scored wrong, counted) "
    "or skipped (left out of the metrics, counted).",
)
@click.option(
    "--no-cache", is_flag=True, help="Generate again instead of answering from the store."
)
@click.option(
    "--shard",
    default=None,
    metavar="I/N",
    help="Judge only items whose position modulo N is I, into OUTPUT/shard-I-of-N "
    "[default: from RANK/WORLD_SIZE or SLURM_ARRAY_TASK_ID/_COUNT when set]; then "
    "score all shards with --predictions OUTPUT/shard-*/verdicts.jsonl.",
)
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json on stdout (only that).")
@click.option(
    "--report",
    "report",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the HTML report of the run (flexjudge report; the report extra).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@engine_options
@click.pass_context
def eval_command(
    ctx: click.Context,
    benchmark: str,
    data: str | None,
    split: str | None,
    predictions: tuple[Path, ...],
    output: Path | None,
    limit: int | None,
    media_root: Path | None,
    missing: str,
    no_cache: bool,
    shard: str | None,
    as_json: bool,
    report: Path | None,
    quiet: bool,
    **opts: Any,
) -> None:
    """Benchmark metrics: judge BENCHMARK with a model, or score --predictions.
    `flexjudge eval list` shows the benchmarks, their splits and protocols; `flexjudge eval
    formats` the published judge-output formats --predictions reads; `flexjudge eval
    reference` each benchmark's protocol per split and metric rules (docs/evaluation.md)."""
    from flexjudge.bench.harness import evaluate
    from flexjudge.errors import ConfigError

    overrides = {k: opts.pop(k) for k in ("samples", "aggregate", "resize", "tie")}
    if benchmark in _LISTINGS:
        click.echo(_LISTINGS[benchmark]())
        return
    if predictions:
        _show(_score(benchmark, predictions, data, split, output), as_json)
        return
    if data is None or output is None:
        raise ConfigError(
            "judging a benchmark needs --data and --output (or --predictions to score outputs)"
        )
    from flexjudge.bench.suites import get_benchmark
    from flexjudge.judge.api import Judge
    from flexjudge.run import RunProgress, progress_wanted, resolve_shard

    bench = get_benchmark(benchmark)
    chosen = bench.check_split(split, data)
    protocol = _protocol(ctx, bench, chosen, overrides, opts)
    with (
        Judge(**judge_kwargs(opts)) as judge,
        RunProgress("judging", limit, enabled=progress_wanted(quiet)) as progress,
    ):
        result = evaluate(
            bench.name,
            data,
            judge,
            output,
            split=chosen,
            media_root=media_root,
            protocol=protocol,
            limit=limit,
            missing=missing,
            cache=not no_cache,
            shard=resolve_shard(shard),
            progress=progress,
        )
    if report is not None:
        from flexjudge.cli.report_cmd import write_report

        write_report(Path(result.get("output", output)), report)
    _show(result, as_json)


def _protocol(
    ctx: click.Context,
    bench: Any,
    split: str,
    overrides: dict[str, Any],
    opts: dict[str, Any],
) -> Any:
    """The benchmark's protocol for ``split`` with what the command line changed: --samples
    and friends, and the judge options (--votes, --order...) given explicitly."""
    from flexjudge.errors import ConfigError

    samples = overrides["samples"]
    for option, field in _PROTOCOL_FROM_OPTION.items():
        if ctx.get_parameter_source(option) is not ParameterSource.DEFAULT:
            if field == "samples" and samples is not None and samples != opts[option]:
                raise ConfigError(
                    f"--samples {samples} and --votes {opts[option]} disagree: pass one"
                )
            overrides[field] = opts[option]
    return bench.protocol_for(split).with_overrides(**overrides)


def _show(result: dict[str, Any], as_json: bool) -> None:
    from flexjudge.bench.report import render_markdown

    if as_json:
        echo_json(result)
    else:
        click.echo(render_markdown(result))


def _score(
    benchmark: str,
    predictions: tuple[Path, ...],
    data: str | None,
    split: str | None,
    output: Path | None,
) -> dict[str, Any]:
    from flexjudge.bench.harness import write_outputs
    from flexjudge.bench.scoring import score_predictions
    from flexjudge.io import check_distinct

    result = score_predictions(benchmark, list(predictions), data, split=split)
    if output is not None:
        inputs: dict[str, Path | None] = {f"--predictions {p}": p for p in predictions}
        check_distinct({"--output metrics.json": output / "metrics.json"}, inputs)
        output.mkdir(parents=True, exist_ok=True)
        write_outputs(result, output)
    return result


def _formats() -> str:
    from flexjudge.bench.formats import formats_listing

    return formats_listing()


def _listing() -> str:
    from flexjudge.bench.suites import benchmark_names, get_benchmark

    rows = ["| benchmark | splits | media | protocol | data |", "|---|---|---|---|---|"]
    for name in benchmark_names():
        b = get_benchmark(name)
        p = b.protocol
        rows.append(
            f"| {name} | {', '.join(b.splits)} | {b.media or 'text'} | samples={p.samples} "
            f"({p.aggregate}), order={p.order}, tie={p.tie}, T={p.temperature}, "
            f"top-p={p.top_p} | {b.data_hint} |"
        )
    return "\n".join(rows)


def benchmark_reference() -> str:
    """Every benchmark's splits, protocol per split and metric rules, as Markdown: the
    generated part of docs/evaluation.md (a test keeps the two equal)."""
    from flexjudge.bench.suites import benchmark_names, get_benchmark

    out = []
    for name in benchmark_names():
        b = get_benchmark(name)
        out += [f"### `{name}` — {b.title}", "", f"Data: {b.data_hint}.", ""]
        out += [
            "| split | samples | headline over samples | order | tie | T | top-p | images |",
            "|---|---:|---|---|---|---:|---:|---|",
        ]
        for split in b.splits:
            p = b.protocol_for(split)
            out.append(
                f"| {split} | {p.samples} | {p.aggregate} | {p.order} | {p.tie} | "
                f"{p.temperature} | {p.top_p} | {p.as_dict()['image_resize']} |"
            )
        out += ["", f"Metrics: {b.metric_rules}", "", f"Protocol: {b.protocol.note}", ""]
    return "\n".join(out)


_LISTINGS = {"list": _listing, "formats": _formats, "reference": benchmark_reference}
