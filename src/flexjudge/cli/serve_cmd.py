"""``flexjudge serve --model M``: the judge as an HTTP reward server (:mod:`flexjudge.serve`).

The flags are the server's settings (:class:`~flexjudge.serve.ServeConfig`), the judge's
(:class:`~flexjudge.judge.JudgeConfig`, but ``--max-batch`` is the batch size) and the
engines' options. ``--api-key-env`` names the variable holding the key *clients* must send;
the openai engine's own key variable (for the server it calls) is ``--upstream-api-key-env``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from typing import Any

import click

from flexjudge.cli.declared import add_options, given
from flexjudge.cli.options import ENGINE_SPECS, JUDGE_SPECS
from flexjudge.engines.registry import engine_names
from flexjudge.engines.registry import engine_options as declared_engine_options
from flexjudge.errors import ConfigError
from flexjudge.judge.api import DEFAULT_MODEL
from flexjudge.judge.config import JudgeConfig
from flexjudge.options import specs_of
from flexjudge.serve.config import ServeConfig

_SERVE_SPECS = specs_of(ServeConfig)
#: The judge's settings, less --batch-size (the server batches by --max-batch).
_JUDGE_SPECS = [s for s in JUDGE_SPECS if s.name != "batch_size"]
#: The engines' options; the openai engine's key variable is renamed, since --api-key-env is
#: the server's own.
_UPSTREAM_KEY = "upstream_api_key_env"
_ENGINE_SPECS = [
    dataclasses.replace(s, name=_UPSTREAM_KEY, flag="--upstream-api-key-env", target=s.name)
    if s.name == "api_key_env"
    else s
    for s in ENGINE_SPECS
]


@click.command()
@click.option(
    "--model",
    "-m",
    default=DEFAULT_MODEL,
    show_default=True,
    help="Hub id or local checkpoint folder (the served model's name for --engine openai).",
)
@click.option(
    "--engine",
    type=click.Choice(["transformers", "vllm", "openai"]),
    default="transformers",
    show_default=True,
    help="transformers (local weights), vllm (local weights through vLLM) or openai (an "
    "OpenAI-compatible server).",
)
@add_options(_SERVE_SPECS)
@add_options(_JUDGE_SPECS)
@add_options(_ENGINE_SPECS)
@click.pass_context
def serve(ctx: click.Context, model: str, engine: str, **opts: Any) -> None:
    """Serve the judge over HTTP for RL loops: /v1/judge, /get_reward (OpenRLHF), /health,
    /ready, /metrics (docs/serve.md). Stops on SIGTERM after draining the requests in flight."""
    from flexjudge.run.judge_spec import JudgeSpec
    from flexjudge.serve.app import run_server

    config = ServeConfig(**{s.name: opts.pop(s.name) for s in _SERVE_SPECS})
    settings = {s.name: opts.pop(s.name) for s in _JUDGE_SPECS}
    judge_config = JudgeConfig(**settings, batch_size=config.max_batch)
    engine_opts = _engine_options(ctx, engine, opts)
    api_key = _client_key(config.api_key_env)
    logging.basicConfig(
        level=config.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    spec = JudgeSpec(model, engine, engine_opts, judge_config, config.store)
    run_server(config, spec, api_key=api_key)


def _engine_options(ctx: click.Context, engine: str, opts: dict[str, Any]) -> dict[str, Any]:
    """The chosen engine's options; one of another engine given on the command line is an
    error (it would be ignored silently)."""
    mine = {s.name for s in declared_engine_options(engine)}
    out: dict[str, Any] = {}
    for spec in _ENGINE_SPECS:
        value = opts.pop(spec.name)
        target = spec.target or spec.name
        if target in mine:
            out[target] = value
        elif given(ctx, spec.name):
            owners = [
                e for e in engine_names() if target in {s.name for s in declared_engine_options(e)}
            ]
            raise ConfigError(
                f"{spec.cli_flag} is an option of the {'/'.join(owners)} engine; this server "
                f"uses --engine {engine}"
            )
    return out


def _client_key(env: str | None) -> str | None:
    if env is None:
        return None
    key = os.environ.get(env)
    if not key:
        raise ConfigError(
            f"--api-key-env {env}: the environment variable {env} is not set or empty"
        )
    return key
