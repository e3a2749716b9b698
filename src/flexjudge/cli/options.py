"""Options shared by the judging commands, built from the declarations: the judge's settings
(:class:`~flexjudge.judge.JudgeConfig`) and each engine's options (the engine registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from flexjudge.cli.declared import add_options, given
from flexjudge.engines.registry import engine_names
from flexjudge.engines.registry import engine_options as declared_engine_options
from flexjudge.errors import ConfigError
from flexjudge.judge.api import DEFAULT_MODEL
from flexjudge.judge.config import JudgeConfig
from flexjudge.options import OptionSpec, specs_of

F = Callable[..., Any]

_CLI_ENGINES = ("transformers", "vllm", "openai")


def _engine_option_specs() -> list[OptionSpec]:
    """Every CLI engine's options, once each (a shared option such as --dtype is declared
    alike by its engines); the help says which engines take it."""
    users: dict[str, list[str]] = {}
    specs: dict[str, OptionSpec] = {}
    for name in _CLI_ENGINES:
        for spec in declared_engine_options(name):
            first = specs.setdefault(spec.name, spec)
            if first.default != spec.default:
                raise AssertionError(f"engines declare --{spec.name} with different defaults")
            users.setdefault(spec.name, []).append(name)
    return [
        OptionSpec(
            s.name,
            s.default,
            f"{'/'.join(users[s.name])} engine: {s.help}",
            s.type,
            s.choices,
            s.short,
            s.flag,
            s.multiple,
        )
        for s in specs.values()
    ]


ENGINE_SPECS = _engine_option_specs()
JUDGE_SPECS = specs_of(JudgeConfig)

_MODEL_OPTIONS = [
    click.option(
        "--model",
        "-m",
        default=DEFAULT_MODEL,
        show_default=True,
        help="Hub id or local checkpoint folder (the served model's name for --engine openai).",
    ),
    click.option(
        "--engine",
        type=click.Choice(list(_CLI_ENGINES)),
        default="transformers",
        show_default=True,
        help="transformers (local weights), vllm (local weights through vLLM) or openai "
        "(an OpenAI-compatible server).",
    ),
]

_REQUEST_OPTIONS = [
    click.option("--scale", default="1-10", show_default=True, help="1-10, 1-5, 1.0-5.0 ..."),
    click.option("--criteria", default=None, help="Replaces the default criteria sentence."),
    click.option("--reference", default=None, help="A reference answer shown to the judge."),
]


def engine_options(f: F) -> F:
    """--model, --engine, the judge's settings and every engine's options."""
    f = add_options(ENGINE_SPECS)(f)
    f = add_options(JUDGE_SPECS)(f)
    for opt in reversed(_MODEL_OPTIONS):
        f = opt(f)
    return f


def request_options(f: F) -> F:
    for opt in reversed(_REQUEST_OPTIONS):
        f = opt(f)
    return f


def judge_kwargs(opts: dict[str, Any], ctx: click.Context | None = None) -> dict[str, Any]:
    """Pop the model, engine, judge settings and the chosen engine's options out of a
    command's keyword arguments, as ``Judge(**kwargs)`` takes them. An option of another
    engine given on the command line is an error (it would be ignored silently)."""
    ctx = ctx or click.get_current_context()
    kw: dict[str, Any] = {"model": opts.pop("model"), "engine": opts.pop("engine")}
    for spec in JUDGE_SPECS:
        kw[spec.name] = opts.pop(spec.name)
    mine = {s.name for s in declared_engine_options(kw["engine"])}
    for spec in ENGINE_SPECS:
        value = opts.pop(spec.name)
        if spec.name in mine:
            kw[spec.name] = value
        elif given(ctx, spec.name):
            owners = [
                e
                for e in engine_names()
                if spec.name in {s.name for s in declared_engine_options(e)}
            ]
            raise ConfigError(
                f"{spec.cli_flag} is an option of the {'/'.join(owners)} engine; this command "
                f"uses --engine {kw['engine']}"
            )
    return kw
