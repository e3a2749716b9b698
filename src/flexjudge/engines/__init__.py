"""Engines: chat requests in, completions out."""

from flexjudge.engines.base import (
    ChatRequest,
    Completion,
    Engine,
    EngineInfo,
    Message,
    Part,
    SamplingParams,
)
from flexjudge.engines.registry import EngineSpec, create_engine, engine_names, engine_options
from flexjudge.engines.scripted import ScriptedEngine

__all__ = [
    "ChatRequest",
    "Completion",
    "Engine",
    "EngineInfo",
    "EngineSpec",
    "Message",
    "Part",
    "SamplingParams",
    "ScriptedEngine",
    "create_engine",
    "engine_names",
    "engine_options",
]
