"""The engine interface: chat requests with media and sampling parameters in, n completions
per request out. Engines know nothing about judging; prompts and parsing live elsewhere."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flexjudge.errors import ConfigError

#: Modalities a chat part can carry.
Modality = Literal["text", "image", "video", "audio"]


@dataclass(frozen=True)
class Part:
    """One piece of a chat message: text, or one media item (path, PIL image, array...)."""

    type: Modality
    text: str = ""
    media: Any = None


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    parts: tuple[Part, ...]

    def text(self) -> str:
        return "".join(p.text for p in self.parts if p.type == "text")


@dataclass(frozen=True)
class ChatRequest:
    """A conversation to continue. ``assistant_prefix`` is text the assistant turn already
    starts with (``<think>\\n`` priming, or a partial answer being continued)."""

    messages: tuple[Message, ...]
    assistant_prefix: str = ""

    def modalities(self) -> set[str]:
        return {p.type for m in self.messages for p in m.parts if p.type != "text"}

    def continued(self, more: str) -> ChatRequest:
        return ChatRequest(self.messages, self.assistant_prefix + more)


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. ``max_new_tokens`` is always explicit (vLLM's default of 16, and a
    random model that never emits EOS, both make an unset bound a bug)."""

    n: int = 1
    temperature: float = 0.6
    top_p: float = 0.95
    max_new_tokens: int = 4096
    seed: int | None = 0
    #: Stop once these strings have appeared ``stop_count`` times in total in the completion.
    stop: tuple[str, ...] = ()
    stop_count: int = 1

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"n must be at least 1, got {self.n}")
        if self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.stop_count < 1:
            raise ConfigError(f"stop_count must be at least 1, got {self.stop_count}")


@dataclass(frozen=True)
class Completion:
    text: str
    #: "stop" (stop strings reached), "eos" (end of turn), or "length" (max_new_tokens hit)
    finish_reason: Literal["stop", "eos", "length"]
    n_tokens: int = 0


@dataclass
class EngineInfo:
    """What identifies an engine's outputs (recorded with verdicts)."""

    engine: str
    model: str
    details: dict[str, Any] = field(default_factory=dict)


class Engine(abc.ABC):
    """Implement :meth:`generate`; the rest has defaults."""

    #: Media types this engine's model can take (text is always accepted).
    modalities: frozenset[str] = frozenset()

    @abc.abstractmethod
    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        """Return ``params.n`` completions for each request, in request order."""

    def render(self, request: ChatRequest) -> str:
        """The exact prompt text the model sees (chat template applied)."""
        raise NotImplementedError(f"{type(self).__name__} cannot render prompts")

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(engine=type(self).__name__, model="")

    def close(self) -> None:
        """Release model memory; the default does nothing."""


def truncate_at_stop(text: str, stop: Sequence[str], count: int) -> tuple[str, bool]:
    """Cut ``text`` right after the ``count``-th occurrence of any stop string.

    Returns the (possibly) shortened text and whether the stop condition was met. Shared by
    engines so that every engine stops at exactly the same place.
    """
    if not stop:
        return text, False
    seen, pos = 0, 0
    while True:
        hits = [(text.find(s, pos), s) for s in stop]
        hits = [(i, s) for i, s in hits if i >= 0]
        if not hits:
            return text, False
        i, s = min(hits)
        seen += 1
        pos = i + len(s)
        if seen >= count:
            return text[:pos], True
