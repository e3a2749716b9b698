"""Engines by name, each with the options it takes, imported lazily so that the core needs no
heavy dependency.

An engine declares its options here (:class:`~flexjudge.options.OptionSpec`: name, default,
type, help); the CLI builds its engine flags from these declarations, and
``Judge(model, engine=name, **options)`` passes them to the engine's constructor. A test keeps
each declaration equal to its constructor's signature.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
                "Seconds one attempt may take, from connecting to the last byte of the answer "
                "(each retry gets its own).",
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


def checkpoint_model_type(model: str, revision: str | None = None) -> str | None:
    """The ``model_type`` in ``model``'s ``config.json`` (a folder, or a hub id transformers can
    resolve), read without loading anything else; None when there is none to read (the engine
    then reports why it cannot load the checkpoint)."""
    path = Path(model) / "config.json"
    try:
        if path.is_file():
            config = json.loads(path.read_text(encoding="utf-8"))
        else:
            from transformers import PretrainedConfig

            config = PretrainedConfig.get_config_dict(model, revision=revision)[0]
    except Exception:  # unreadable, not JSON, not on the hub: the engine names the cause
        return None
    kind = config.get("model_type") if isinstance(config, dict) else None
    return kind if isinstance(kind, str) else None


def _for_checkpoint(name: str, spec: EngineSpec, model: Any, options: dict[str, Any]) -> EngineSpec:
    """Mol-LLaMA checkpoints (``model_type`` "mol_llama", molecules as graphs) take the
    transformers engine's :class:`~flexjudge.engines.mol_llama.MolLLaMAEngine`, with the same
    options; the vLLM engine cannot run them."""
    if name not in ("transformers", "vllm") or model is None:
        return spec
    if checkpoint_model_type(str(model), options.get("revision")) != "mol_llama":
        return spec
    if name == "vllm":
        raise ConfigError(
            f"{model!r} is a Mol-LLaMA checkpoint, which the vllm engine cannot run (its "
            "molecules enter as graph-encoder embeddings); use --engine transformers"
        )
    return dataclasses.replace(spec, module="flexjudge.engines.mol_llama", factory="MolLLaMAEngine")


def checkpoint_chat(model: str, revision: str | None = None) -> Any:
    """The processor side that ``model`` renders its prompts with, weights untouched (for
    ``--show-prompt``): :class:`~flexjudge.engines.hf_chat.HFChat`, or
    :class:`~flexjudge.engines.mol_llama.MolLLaMAChat` for a Mol-LLaMA checkpoint."""
    if checkpoint_model_type(model, revision) == "mol_llama":
        from flexjudge.engines.mol_llama import MolLLaMAChat

        return MolLLaMAChat(model, revision=revision)
    from flexjudge.engines.hf_chat import HFChat

    return HFChat(model, revision=revision)


def create_engine(name: str, model: str | None = None, **options: Any) -> Engine:
    """Build an engine by name; a missing optional dependency names the extra to install,
    and an option the engine's constructor does not take is refused, naming the declared
    ones. (Declared options are those the CLI offers; Python callers may pass any other
    keyword the constructor documents.)"""
    spec = _for_checkpoint(name, engine_spec(name), model, options)
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
