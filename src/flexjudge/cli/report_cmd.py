"""``flexjudge report RUN [RUN_B] -o report.html``: the HTML report of a run, or the
comparison of two runs on the same items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from flexjudge.errors import ConfigError

_RUN = click.Path(exists=True, path_type=Path)


def _default_output(run: Path, other: Path | None) -> Path:
    folder = run if run.is_dir() else run.parent
    stem = "report" if run.is_dir() else f"{run.stem}.report"
    return folder / (f"{stem}.compare.html" if other is not None else f"{stem}.html")


def _inputs(run: Any) -> list[Path]:
    paths = [run.verdicts_path, run.items_path]
    if run.kind == "eval":
        paths += [run.verdicts_path.parent / n for n in ("metrics.json", "report.md")]
    return [p.resolve() for p in paths if p is not None]


@click.command("report")
@click.argument("run", type=_RUN)
@click.argument("run_b", required=False, type=_RUN)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file [default: RUN/report.html, OUT.report.html for a verdict file, "
    "*.compare.html for two runs].",
)
@click.option(
    "--items",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="What RUN judged: an items.jsonl or the request file of `flexjudge run` "
    "[default: found beside the verdicts].",
)
@click.option(
    "--requests",
    "requests_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Alias of --items for a `flexjudge run` request file.",
)
@click.option("--title", default=None, help="Page title.")
@click.option(
    "--max-text",
    default=1500,
    show_default=True,
    type=click.IntRange(0),
    help="Characters kept of each text (head and tail; 0: all).",
)
@click.option(
    "--page-size",
    default=50,
    show_default=True,
    type=click.IntRange(5, 1000),
    help="Table rows per page.",
)
@click.option(
    "--low-agreement",
    default=0.75,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Agreement below which the 'low agreement' filter lists an item.",
)
@click.option(
    "--media-budget",
    default=25.0,
    show_default=True,
    type=click.FloatRange(0),
    help="MiB of embedded media previews; beyond, media are relative links (0: links only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def report(
    run: Path,
    run_b: Path | None,
    output: Path | None,
    items: Path | None,
    requests_file: Path | None,
    title: str | None,
    max_text: int,
    page_size: int,
    low_agreement: float,
    media_budget: float,
    as_json: bool,
) -> None:
    """Write the HTML report of RUN (an eval folder or a `flexjudge run` output), or compare
    RUN with RUN_B on the items both judged."""
    from flexjudge.report import PageOptions, build_comparison, build_report, load_run

    options = PageOptions(
        max_text=max_text,
        page_size=page_size,
        low_agreement=low_agreement,
        media_budget=int(media_budget * 1024**2),
        title=title,
    )
    first = load_run(run, items=items, requests=requests_file)
    second = load_run(run_b) if run_b is not None else None
    output = output or _default_output(run, run_b)
    inputs = _inputs(first) + (_inputs(second) if second else [])
    if output.resolve() in inputs or output.resolve() == run.resolve():
        raise ConfigError(f"--output {output} is one of the inputs: pass another file")
    if second is not None:
        summary = build_comparison(first, second, output, options)
    else:
        summary = build_report(first, output, options)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        click.echo(
            f"{output}: {summary['bytes'] / 1024**2:.2f} MiB, "
            f"{summary.get('items', summary.get('common_items'))} items, "
            f"built in {summary['seconds']:.2f} s",
            err=True,
        )
        for note in summary.get("notes", []):
            click.echo(f"note: {note}", err=True)


def write_report(run: Path, output: Path, *, requests: Path | None = None) -> None:
    """The report of a run just finished (``--report`` on ``run`` and ``eval``)."""
    from flexjudge.report import build_report, load_run

    loaded = load_run(run, requests=requests if run.is_file() else None)
    if output.resolve() in _inputs(loaded) or output.resolve() == run.resolve():
        raise ConfigError(f"--report {output} is one of the run's files: pass another file")
    summary = build_report(loaded, output)
    click.echo(f"report {output}: {summary['items']} items", err=True)
