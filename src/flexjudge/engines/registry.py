"""Engines by name, each with the options it takes, imported lazily so that the core needs no
heavy dependency.

An engine declares its options here (:class:`~flexjudge.options.OptionSpec`: name, default,
type, help); the CLI builds its engine flags from these declarations, and
``Judge(model, engine=name, **options)`` passes them to the engine's constructor. A test keeps
each declaration equal to its constructor's signature.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flexjudge.engines.base import Engine
from flexjudge.errors import ConfigError
from flexjudge.options import OptionSpec


@dataclass(frozen=True)
class EngineSpec:
    """Where an engine lives, the pip extra that provides its dependencies, its options."""

    module: str
    factory: str
    extra: str | None
    options: tuple[OptionSpec, ...] = ()
    help: str = ""


_DTYPE = OptionSpec(
    "dtype",
    "auto",
    "auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16.",
    choices=("auto", "float32", "bfloat16", "float16"),
)
_REVISION = OptionSpec("revision", None, "Hub revision (branch, tag or commit) of --model.")
_VIDEO_PRESET = OptionSpec(
    "video_preset",
    "qwen",
    "Video sampling: qwen (Qwen2.5-VL's 2 fps) or official (1 fps, <= 224x224).",
    choices=("qwen", "official"),
)

_ENGINES: dict[str, EngineSpec] = {
    "transformers": EngineSpec(
        "flexjudge.engines.hf",
        "TransformersEngine",
        "hf",
        (
            OptionSpec("device", "auto", "auto, cpu, cuda, cuda:1 ..."),
            _DTYPE,
            _REVISION,
            _VIDEO_PRESET,
        ),
        "local weights through transformers",
    ),
    "vllm": EngineSpec(
        "flexjudge.engines.vllm",
        "VLLMEngine",
        "vllm",
        (
            _DTYPE,
            _REVISION,
            _VIDEO_PRESET,
            OptionSpec("tensor_parallel_size", 1, "GPUs per model replica.", int),
            OptionSpec(
                "max_model_len",
                None,
                "Longest prompt plus completion in tokens [default: the model's].",
                int,
            ),
        ),
        "local weights through vLLM",
    ),
    "openai": EngineSpec(
        "flexjudge.engines.openai",
        "OpenAIEngine",
        "openai",
        (
            OptionSpec("base_url", None, "The server, e.g. http://127.0.0.1:8000/v1."),
            OptionSpec(
                "api_key_env",
                "OPENAI_API_KEY",
                "Environment variable holding the API key (if any).",
            ),
            OptionSpec("concurrency", 8, "Requests in flight at once.", int),
            OptionSpec(
                "timeout",
                120.0,
                "Seconds one request may take in all (connect, queue and the whole answer).",
                float,
            ),
            OptionSpec("max_retries", 3, "Retries of a failed request (429, 5xx, timeouts).", int),
        ),
        "an OpenAI-compatible server",
    ),
    "scripted": EngineSpec("flexjudge.engines.scripted", "ScriptedEngine", None),
}


def engine_names() -> list[str]:
    return sorted(_ENGINES)


def engine_spec(name: str) -> EngineSpec:
    try:
        return _ENGINES[name]
    except KeyError:
        raise ConfigError(
            f"unknown engine {name!r}: use one of {', '.join(engine_names())}"
        ) from None


def engine_options(name: str) -> tuple[OptionSpec, ...]:
    """The options engine ``name`` takes."""
    return engine_spec(name).options


def create_engine(name: str, model: str | None = None, **options: Any) -> Engine:
    """Build an engine by name; a missing optional dependency names the extra to install,
    and an option the engine's constructor does not take is refused, naming the declared
    ones. (Declared options are those the CLI offers; Python callers may pass any other
    keyword the constructor documents.)"""
    spec = engine_spec(name)
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        hint = f"pip install 'flexjudge[{spec.extra}]'" if spec.extra else "reinstall flexjudge"
        raise ConfigError(
            f"engine {name!r} needs {exc.name or 'a missing package'}: {hint}"
        ) from exc
    factory: Callable[..., Engine] = getattr(module, spec.factory)
    accepted = inspect.signature(factory).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            takes = ", ".join(o.name for o in spec.options) or "none"
            raise ConfigError(
                f"engine {name!r} does not take {', '.join(unknown)}; its options: {takes}"
            )
    return factory(model, **options) if model is not None else factory(**options)
