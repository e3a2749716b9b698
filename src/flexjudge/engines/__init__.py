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
from flexjudge.engines.registry import create_engine, engine_names
from flexjudge.engines.scripted import ScriptedEngine

__all__ = [
    "ChatRequest",
    "Completion",
    "Engine",
    "EngineInfo",
    "Message",
    "Part",
    "SamplingParams",
    "ScriptedEngine",
    "create_engine",
    "engine_names",
]
