"""``flexjudge eval BENCHMARK``: judge a benchmark with a model, or score existing predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flexjudge.cli.options import engine_options, judge_kwargs


@click.command("eval")
@click.argument("benchmark")
@click.option("--predictions", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Score a judge's outputs (the benchmark's own published format, or flexjudge "
                   "verdicts JSONL) instead of judging with --model.")
@click.option("--data", type=click.Path(exists=True, path_type=Path), default=None,
              help="The benchmark's items/labels (required for pandalm; optional for genai_bench).")
@click.option("--split", default=None, help="Split name (genai_bench: read from the path if omitted).")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write verdicts.jsonl (when judging), metrics.json and report.md here.")
@click.option("--limit", type=int, default=None, help="Judge only the first N items.")
@click.option("--images", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Image folder for image benchmarks (mllm_judge_pair).")
@engine_options
def eval_command(benchmark: str, predictions: Path | None, data: Path | None, split: str | None,
                 output: Path | None, limit: int | None, images: Path | None, **opts: Any) -> None:
    """Benchmark metrics: judge with a model (pandalm, mllm_judge_pair), or score --predictions
    (pandalm, genai_bench)."""
    from flexjudge.bench.predictions import metrics_json, score_predictions
    from flexjudge.bench.report import render_markdown

    if predictions is None:
        from flexjudge.bench.run import run_benchmark
        from flexjudge.errors import ConfigError
        from flexjudge.judge.api import Judge

        if data is None or output is None:
            raise ConfigError("judging a benchmark needs --data and --output")
        result = run_benchmark(benchmark, data, Judge(**judge_kwargs(opts)), output, limit, images)
        click.echo(render_markdown(result))
        return
    result = score_predictions(benchmark, predictions, data, split=split)
    report = render_markdown(result)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "metrics.json").write_text(metrics_json(result))
        (output / "report.md").write_text(report)
    click.echo(report)
