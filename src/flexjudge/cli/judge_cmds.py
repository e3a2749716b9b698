"""``flexjudge score | compare | rank``: judge one item from the shell."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from flexjudge.cli.common import echo_json
from flexjudge.cli.options import engine_options, judge_kwargs, request_options
from flexjudge.engines.chatml import render_chatml
from flexjudge.errors import ModelLoadError
from flexjudge.judge.api import Judge
from flexjudge.prompts import build_chat
from flexjudge.request import JudgeRequest, Task
from flexjudge.verdict import Verdict

_media = [
    click.option("--image", "images", multiple=True, help="Image path (repeatable)."),
    click.option(
        "--molecule",
        "molecules",
        multiple=True,
        help="Molecule as SMILES, or a MOL/SDF file (repeatable).",
    ),
    click.option(
        "--molecule-view",
        type=click.Choice(["both", "image", "text"]),
        default="both",
        show_default=True,
        help="Show molecules as a depiction, a text block, or both.",
    ),
    click.option(
        "--video",
        "videos",
        multiple=True,
        help="Video file (mp4, webm, mov, gif) or a folder of frames (repeatable).",
    ),
    click.option(
        "--audio",
        "audios",
        multiple=True,
        help="Audio file (wav, flac, mp3, ...), resampled to 16 kHz mono (repeatable).",
    ),
    click.option(
        "--protocol",
        type=click.Choice(["default", "audio_mos", "voxsim", "pampa", "mol_pairwise"]),
        default="default",
        show_default=True,
        help="System prompt: JudgeLRM's, Flex-Omni's audio MOS / speaker-similarity prompt "
        "(score only), or Flex-Mol-LLaMA's PAMPA (score, one --molecule) / pairwise "
        "DPO-labelling prompt (compare; <mol> in -i marks each --molecule).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object."),
    click.option(
        "--show-prompt",
        is_flag=True,
        help="Print the exact rendered prompt and exit without loading weights.",
    ),
]


def _common(f: Any) -> Any:
    for opt in reversed(_media):
        f = opt(f)
    return request_options(engine_options(f))


def _execute(task: Task, responses: list[str], opts: dict[str, Any], **extra: Any) -> None:
    show, as_json = opts.pop("show_prompt"), opts.pop("as_json")
    jk = judge_kwargs(opts)
    fields = dict(
        task=task,
        instruction=opts.pop("instruction"),
        responses=responses,
        images=list(opts.pop("images")),
        videos=list(opts.pop("videos")),
        audios=list(opts.pop("audios")),
        protocol=opts.pop("protocol"),
        molecules=list(opts.pop("molecules")),
        molecule_view=opts.pop("molecule_view"),
        scale=opts.pop("scale"),
        criteria=opts.pop("criteria"),
        reference=opts.pop("reference"),
        **extra,
    )
    request = JudgeRequest.build(**fields)
    if show:
        click.echo(_render(request, jk))
        return
    with Judge(**jk) as judge:
        verdict = judge.judge(request)
    if as_json:
        echo_json(verdict.to_json())
    else:
        print_verdict(verdict)
    if verdict.status == "error":  # the request could not be judged (an invalid one was)
        raise click.exceptions.Exit(1)


def _render(request: JudgeRequest, jk: dict[str, Any]) -> str:
    """Render with the checkpoint's own processor; never loads weights."""
    if jk["engine"] not in ("transformers", "vllm"):  # vllm renders through the same processor
        return render_chatml(build_chat(request))
    from flexjudge.engines.registry import checkpoint_chat

    try:
        engine = checkpoint_chat(jk["model"], revision=jk.get("revision"))
    except ModelLoadError as exc:
        click.echo(
            f"note: {exc}\nnote: rendered in plain ChatML (Qwen's chat format) instead of "
            "the checkpoint's own template.",
            err=True,
        )
        return render_chatml(build_chat(request))
    return engine.render(build_chat(request, native=engine.modalities))


def print_verdict(v: Verdict) -> None:
    console = Console()
    table = Table(show_header=False, box=None)
    table.add_row("status", v.status if v.ok else f"[red]{v.status}[/red]")
    if v.winner is not None:
        table.add_row("winner", v.winner)
    if v.label is not None:
        table.add_row("label", v.label)
    if v.scores is not None:
        table.add_row("scores", ", ".join(f"{s:g}" for s in v.scores))
    if v.ranking is not None:
        table.add_row("ranking", " > ".join(v.ranking))
    if v.agreement is not None:
        table.add_row("agreement", f"{v.agreement:.2f} of {v.n_valid} valid / {v.n_votes} votes")
    if v.order_agreement is not None:
        table.add_row("orders agree", str(v.order_agreement))
    if v.error:
        table.add_row("error", v.error)
    console.print(table)
    if v.reasoning:
        console.print("[bold]reasoning[/bold]")
        console.print(v.reasoning, markup=False, highlight=False)


@click.command()
@click.option("--instruction", "-i", required=True, help="The question or instruction.")
@click.option("--response", "-r", required=True, help="The response to score.")
@_common
def score(response: str, **opts: Any) -> None:
    """Score one response on a scale."""
    _execute(Task.SCORE, [response], opts)


@click.command()
@click.option("--instruction", "-i", required=True, help="The question or instruction.")
@click.option("--a", "a", required=True, help="Response A.")
@click.option("--b", "b", required=True, help="Response B.")
@click.option(
    "--tie/--no-tie",
    default=True,
    show_default=True,
    help="Whether equal scores (a tie) are an acceptable verdict.",
)
@click.option(
    "--labels",
    is_flag=True,
    help="Ask for a four-way verdict [[A>B]] / [[B>A]] / [[A=B=Good]] / [[A=B=Bad]].",
)
@_common
def compare(a: str, b: str, tie: bool, labels: bool, **opts: Any) -> None:
    """Compare two responses."""
    if labels:
        _execute(Task.LABEL, [a, b], opts)
    else:
        _execute(Task.PAIRWISE, [a, b], opts, tie=tie)


@click.command()
@click.option("--instruction", "-i", required=True, help="The question or instruction.")
@click.option(
    "--response",
    "-r",
    "responses",
    multiple=True,
    required=True,
    help="A response (repeat 3 or more times).",
)
@_common
def rank(responses: tuple[str, ...], **opts: Any) -> None:
    """Rank three or more responses."""
    _execute(Task.BATCH, list(responses), opts)
