"""``flexjudge eval BENCHMARK --predictions FILE``: benchmark metrics from a predictions file."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("eval")
@click.argument("benchmark")
@click.option("--predictions", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A judge's outputs: the benchmark's own published format, or flexjudge verdicts JSONL.")
@click.option("--data", type=click.Path(exists=True, path_type=Path), default=None,
              help="The benchmark's items/labels (required for pandalm; optional for genai_bench).")
@click.option("--split", default=None, help="Split name (genai_bench: read from the path if omitted).")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write metrics.json and report.md here.")
def eval_command(benchmark: str, predictions: Path, data: Path | None, split: str | None,
                 output: Path | None) -> None:
    """Compute a benchmark's metrics (pandalm, genai_bench) from existing predictions.

    Judging a benchmark with a model (without --predictions) is not available yet.
    """
    from flexjudge.bench.predictions import metrics_json, score_predictions
    from flexjudge.bench.report import render_markdown

    result = score_predictions(benchmark, predictions, data, split=split)
    report = render_markdown(result)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "metrics.json").write_text(metrics_json(result))
        (output / "report.md").write_text(report)
    click.echo(report)
