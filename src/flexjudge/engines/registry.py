"""Engines by name, imported lazily so that the core needs no heavy dependency."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from flexjudge.engines.base import Engine
from flexjudge.errors import ConfigError

# name -> (module, factory attribute, pip extra that provides its dependencies)
_ENGINES: dict[str, tuple[str, str, str | None]] = {
    "transformers": ("flexjudge.engines.hf", "TransformersEngine", "hf"),
    "openai": ("flexjudge.engines.openai", "OpenAIEngine", "openai"),
    "vllm": ("flexjudge.engines.vllm", "VLLMEngine", "vllm"),
    "scripted": ("flexjudge.engines.scripted", "ScriptedEngine", None),
}


def engine_names() -> list[str]:
    return sorted(_ENGINES)


def create_engine(name: str, model: str | None = None, **options: Any) -> Engine:
    """Build an engine by name; a missing optional dependency names the extra to install."""
    try:
        module_name, attr, extra = _ENGINES[name]
    except KeyError:
        raise ConfigError(
            f"unknown engine {name!r}: use one of {', '.join(engine_names())}"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f"pip install 'flexjudge[{extra}]'" if extra else "reinstall flexjudge"
        raise ConfigError(
            f"engine {name!r} needs {exc.name or 'a missing package'}: {hint}"
        ) from exc
    factory: Callable[..., Engine] = getattr(module, attr)
    return factory(model, **options) if model is not None else factory(**options)
