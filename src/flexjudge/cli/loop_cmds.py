"""``flexjudge sample``, ``flexjudge best-of-n`` and ``flexjudge pairs``: the judge drives
training (:mod:`flexjudge.loop`). Each caches every engine completion in a store (default:
the output with the suffix ``.sqlite``), so running the same command again after a kill
resumes without generating or judging anything twice."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from flexjudge.cli.common import echo_json, info
from flexjudge.cli.declared import add_options, given
from flexjudge.cli.options import ENGINE_SPECS, engine_options, judge_kwargs, request_options
from flexjudge.engines.registry import engine_names
from flexjudge.engines.registry import engine_options as declared_engine_options
from flexjudge.errors import ConfigError
from flexjudge.io import check_distinct
from flexjudge.judge.api import Judge
from flexjudge.request import PROTOCOLS
from flexjudge.run import RunProgress, progress_wanted

_INT = re.compile(r"^\d+(,\d+)*$")


class _Numbers(click.Option):
    """An option taking several integers after one flag (``--n 2 4 8 16``; ``2,4,8,16`` and
    repeated flags work too): it consumes the integer tokens that follow it."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            previous = opt.process

            def process(value: Any, state: Any, previous: Any = previous) -> None:
                values = [value]
                while state.rargs and _INT.match(state.rargs[0]):
                    values.append(state.rargs.pop(0))
                previous(",".join(values), state)

            opt.process = process


def _ints(values: tuple[str, ...], flag: str) -> list[int]:
    out = []
    for v in values:
        for part in str(v).split(","):
            if not part.strip().isdigit():
                raise ConfigError(f"{flag} takes positive integers, got {v!r}")
            out.append(int(part))
    return out


def _store_options(f: Any) -> Any:
    f = click.option(
        "--no-cache",
        is_flag=True,
        help="Generate everything again (do not read the store); still write to it.",
    )(f)
    f = click.option(
        "--store",
        "store_path",
        default=None,
        type=click.Path(path_type=Path),
        help="SQLite cache of engine completions [default: OUTPUT with suffix .sqlite].",
    )(f)
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")(f)
    return f


def _output_option(what: str) -> Any:
    return click.option(
        "--output",
        "-o",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"{what} Written through OUTPUT.partial and renamed when complete.",
    )


def _paths(output: Path, store: Path | None, inputs: dict[str, Path | None]) -> Path:
    store = store or output.with_suffix(".sqlite")
    if output.suffix == ".sqlite":
        raise ConfigError(f"--output {str(output)!r} ends in .sqlite: that is the store's suffix")
    check_distinct({"--output": output, "--store": store}, inputs)
    return store


def _engine_kwargs(opts: dict[str, Any], ctx: click.Context) -> dict[str, Any]:
    """The chosen engine's options; another engine's option given is an error."""
    engine = opts["engine"]
    mine = {s.name for s in declared_engine_options(engine)}
    kw: dict[str, Any] = {}
    for spec in ENGINE_SPECS:
        value = opts.pop(spec.name)
        if spec.name in mine:
            kw[spec.name] = value
        elif given(ctx, spec.name):
            raise ConfigError(f"{spec.cli_flag} is not an option of the {engine} engine")
    return kw


def _protocol_option(f: Any) -> Any:
    return click.option(
        "--protocol",
        type=click.Choice(list(PROTOCOLS)),
        default=None,
        help="System-prompt family for prompts that set none (e.g. pampa for --method score "
        "with Flex-Mol-LLaMA, mol_pairwise for pairs) [default].",
    )(f)


def _judge_setup(
    ctx: click.Context, opts: dict[str, Any], *, swap: bool, what: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Judge kwargs, request defaults) of a judging loop command. ``--batch-size`` is the
    requests per pass: whole prompts are packed into a pass up to it, and a prompt with more
    judgments still goes in one pass (flexjudge.loop.judging)."""
    defaults = {k: opts.pop(k) for k in ("scale", "criteria", "reference", "protocol")}
    if not given(ctx, "scale"):
        defaults["scale"] = None  # the request's own default, or its protocol's scale
    if swap and given(ctx, "order") and opts["order"] != "swap":
        raise ConfigError(f"{what} judges every pair in both orders: drop --order")
    return judge_kwargs(opts, ctx), defaults


# -- sample ----------------------------------------------------------------------------------
@click.command()
@click.argument("prompts", type=click.Path(path_type=Path))
@_output_option("Candidates, one JSON object per line.")
@click.option("--n", "n", default=16, show_default=True, type=int, help="Candidates per prompt.")
@click.option(
    "--temperature",
    "-t",
    "temperatures",
    multiple=True,
    type=float,
    help="Sampling temperature; repeat to spread the candidates over several (round robin; "
    "the paper's DPO pairs: --n 2 -t 0.8 -t 1.2) [default: 1.0].",
)
@click.option("--top-p", default=1.0, show_default=True, type=float, help="Nucleus mass.")
@click.option(
    "--max-new-tokens", default=256, show_default=True, type=int, help="Tokens per candidate."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Sampling seed.")
@click.option(
    "--batch-size", default=8, show_default=True, type=int, help="Prompts per engine call."
)
@_store_options
@add_options(ENGINE_SPECS)
@click.option(
    "--engine",
    type=click.Choice([e for e in engine_names() if e != "scripted"]),
    default="transformers",
    show_default=True,
    help="transformers or vllm (local weights), or openai (an OpenAI-compatible server).",
)
@click.option("--model", "-m", required=True, help="The policy: a checkpoint folder or hub id.")
@click.pass_context
def sample(
    ctx: click.Context,
    prompts: Path,
    output: Path,
    n: int,
    temperatures: tuple[float, ...],
    top_p: float,
    max_new_tokens: int,
    seed: int,
    batch_size: int,
    store_path: Path | None,
    no_cache: bool,
    quiet: bool,
    as_json: bool,
    **opts: Any,
) -> None:
    """Sample candidate responses from a policy (prompt schema: docs/loop.md)."""
    from flexjudge.loop import SampleSettings, read_prompts
    from flexjudge.loop.sample import Sampler

    store = _paths(output, store_path, {"prompts": prompts})
    settings = SampleSettings(n, temperatures or (1.0,), top_p, max_new_tokens, seed, batch_size)
    rows = read_prompts(prompts)
    model, name = opts.pop("model"), opts.pop("engine")
    kwargs = _engine_kwargs({"engine": name, **opts}, ctx)
    total = len(rows) * len(settings.temperatures)
    with (
        Sampler(model, engine=name, store=store, cache=not no_cache, **kwargs) as policy,
        RunProgress("sampling", total, enabled=progress_wanted(quiet)) as progress,
    ):
        summary = policy.sample_into(rows, output, settings, progress=progress)
    info(
        f"{summary.candidates} candidates for {summary.prompts} prompts in "
        f"{summary.seconds:.1f}s -> {output}; finish reasons {summary.finish_reasons}"
    )
    info(f"store {store}: {summary.from_store} from the store, {summary.generated} generated")
    if as_json:
        echo_json(summary.as_dict())


# -- best-of-n -------------------------------------------------------------------------------
@click.command("best-of-n")
@click.argument("candidates", type=click.Path(path_type=Path))
@_output_option("One line per prompt: the selection and the chosen candidate.")
@click.option(
    "--method",
    type=click.Choice(["score", "rank", "pairwise"]),
    default="score",
    show_default=True,
    help="score: the top single score (the paper's); rank: one batch ranking; pairwise: a "
    "round robin in both orders, Copeland winner.",
)
@click.option("--eval", "evaluate", is_flag=True, help="Best-of-N accuracy against gold.")
@click.option(
    "--n",
    "ns",
    cls=_Numbers,
    multiple=True,
    metavar="N [N ...]",
    help="With --eval: the Ns (--n 2 4 8 16) [default: 2 4 8 16 up to the candidates].",
)
@click.option("--trials", default=10, show_default=True, type=int, help="With --eval: draws per N.")
@click.option(
    "--gold",
    default=None,
    type=click.Path(path_type=Path),
    help="JSONL of {candidate_id, correct} (instead of a 'correct' field per candidate).",
)
@_store_options
@_protocol_option
@request_options
@engine_options
@click.pass_context
def best_of_n(
    ctx: click.Context,
    candidates: Path,
    output: Path,
    method: str,
    evaluate: bool,
    ns: tuple[str, ...],
    trials: int,
    gold: Path | None,
    store_path: Path | None,
    no_cache: bool,
    quiet: bool,
    as_json: bool,
    **opts: Any,
) -> None:
    """Choose one candidate per prompt with the judge (--seed also seeds the tie-breaks;
    --batch-size: requests per pass, whole prompts packed together)."""
    from flexjudge.loop import (
        BestOfSettings,
        apply_gold,
        best_of_n_into,
        evaluate_groups,
        read_candidates,
    )
    from flexjudge.loop.judging import VerdictMemo

    if (ns or gold) and not evaluate:
        raise ConfigError("--n and --gold go with --eval")
    eval_path = output.with_name(output.stem + ".eval.json")
    store = _paths(
        output,
        store_path,
        {"candidates": candidates, "--gold": gold, "eval": eval_path if evaluate else None},
    )
    kw, defaults = _judge_setup(ctx, opts, swap=method == "pairwise", what="pairwise")
    settings = BestOfSettings(method, kw["seed"], None, defaults)  # type: ignore[arg-type]
    groups = read_candidates(candidates)
    if gold is not None:
        apply_gold(groups, gold)
    wanted = _ints(ns, "--n") if ns else None
    with (
        Judge(**kw, store=store, cache=not no_cache) as judge,
        RunProgress("selecting", len(groups), enabled=progress_wanted(quiet)) as progress,
    ):
        memo = VerdictMemo(judge, method)
        summary = best_of_n_into(judge, groups, output, settings, memo=memo, progress=progress)
        report = None
        if evaluate:
            most = max(len(g) for g in groups)
            chosen = wanted or [n for n in (2, 4, 8, 16) if n <= most] or [most]
            report = evaluate_groups(judge, groups, settings, ns=chosen, trials=trials, memo=memo)
    _report_best_of(summary, store)
    result: dict[str, Any] = summary.as_dict()
    if report is not None:
        from flexjudge.io import atomic_write_text

        atomic_write_text(eval_path, json.dumps(report.as_dict(), indent=2) + "\n")
        result["eval"] = report.as_dict()
        result["eval_output"] = str(eval_path)
        if not as_json:
            _print_eval(report)
    if as_json:
        echo_json(result)


def _report_best_of(summary: Any, store: Path) -> None:
    rate = summary.valid_verdict_rate
    info(
        f"{summary.prompts} prompts: {summary.selected} selected, "
        f"{len(summary.no_valid_candidate)} with no valid candidate; "
        f"{summary.candidates_without_verdict} of {summary.candidates} candidates without a "
        f"valid verdict; {summary.ties_broken} ties broken at random; valid verdicts "
        f"{'-' if rate is None else f'{rate:.1%}'} -> {summary.output}"
    )
    if summary.no_valid_candidate:
        shown = ", ".join(repr(p) for p in summary.no_valid_candidate[:5])
        info(f"no valid candidate: {shown}{' ...' if len(summary.no_valid_candidate) > 5 else ''}")
    info(f"store {store}: {summary.from_store} from the store, {summary.generated} generated")


def _print_eval(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    d = report.details
    table = Table(
        title=f"best-of-N, {d.get('method')} method: {report.prompts} prompts, "
        f"{report.trials} trials (mean ± population std, %)"
    )
    for col in ("N", "judge", "random pick", "oracle", "no selection"):
        table.add_column(col, justify="right")
    for row in report.table():
        table.add_row(*row)
    console = Console()
    console.print(table)
    rate = d.get("valid_verdict_rate")
    if rate is not None:
        console.print(f"judge valid-verdict rate: {rate:.1%} of {d.get('judgments')} judgments")


# -- pairs -----------------------------------------------------------------------------------
@click.command()
@click.argument("candidates", type=click.Path(path_type=Path))
@_output_option("Preference pairs (a TRL DPOTrainer dataset); stats in OUTPUT.stats.json.")
@click.option(
    "--policy",
    type=click.Choice(["both-orders", "expected-winner", "majority", "margin"]),
    default="both-orders",
    show_default=True,
    help="both-orders: the same winner in both orders (the paper's filter); expected-winner: "
    "and the --chosen-if candidate wins (the paper's rule); majority: a strict majority of "
    "votes, at least --min-agreement; margin: mean scores at least --min-margin apart.",
)
@click.option(
    "--chosen-if",
    default=None,
    metavar="FIELD=VALUE",
    help="expected-winner: the candidate that must win [default: temperature=0.8].",
)
@click.option(
    "--min-agreement",
    default=0.5,
    show_default=True,
    type=float,
    help="majority: the least share of valid votes (both orders) for the winner; a strict "
    "majority is always needed.",
)
@click.option(
    "--min-margin",
    default=1.0,
    show_default=True,
    type=float,
    help="margin: the least gap between the two mean scores (over both orders).",
)
@click.option(
    "--max-pairs-per-prompt", default=None, type=int, help="A seeded sample of each prompt's."
)
@_store_options
@_protocol_option
@request_options
@engine_options
@click.pass_context
def pairs(
    ctx: click.Context,
    candidates: Path,
    output: Path,
    policy: str,
    chosen_if: str | None,
    min_agreement: float,
    min_margin: float,
    max_pairs_per_prompt: int | None,
    store_path: Path | None,
    no_cache: bool,
    quiet: bool,
    as_json: bool,
    **opts: Any,
) -> None:
    """Judge candidate pairs in both orders and keep the preference pairs the policy allows."""
    from flexjudge.loop import (
        PairPolicy,
        PairSettings,
        pairs_into,
        parse_chosen_if,
        read_candidates,
    )
    from flexjudge.loop.pairs import stats_path

    store = _paths(output, store_path, {"candidates": candidates, "stats": stats_path(output)})
    if chosen_if is not None and policy != "expected-winner":
        raise ConfigError("--chosen-if goes with --policy expected-winner")
    rule = PairPolicy(
        policy,  # type: ignore[arg-type]
        parse_chosen_if(chosen_if) if chosen_if else None,
        min_agreement,
        min_margin,
    )
    kw, defaults = _judge_setup(ctx, opts, swap=True, what="pairs")
    settings = PairSettings(rule, max_pairs_per_prompt, kw["seed"], None, defaults)
    groups = read_candidates(candidates)
    with (
        Judge(**kw, store=store, cache=not no_cache) as judge,
        RunProgress("pairs", len(groups), enabled=progress_wanted(quiet)) as progress,
    ):
        stats = pairs_into(judge, groups, output, settings, progress=progress)
    dropped = ", ".join(f"{k} {v}" for k, v in stats.dropped.items() if v) or "none"
    info(
        f"{stats.pairs_judged} pairs judged over {stats.prompts} prompts: {stats.kept} kept; "
        f"dropped: {dropped} -> {output} (stats {stats_path(output)})"
    )
    info(f"store {store}: {stats.from_store} from the store, {stats.generated} generated")
    if as_json:
        echo_json(stats.as_dict())
