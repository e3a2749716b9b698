"""The engine interface: chat requests with media and sampling parameters in, n completions
per request out. Engines know nothing about judging; prompts and parsing live elsewhere."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flexjudge.chat import ChatRequest, Message, Modality, Part
from flexjudge.errors import ConfigError, MediaError

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "DEFAULT_TEMPERATURE",
    "DEFAULT_TOP_P",
    "ChatRequest",
    "Completion",
    "Engine",
    "EngineInfo",
    "Message",
    "Modality",
    "Part",
    "SamplingParams",
    "truncate_at_stop",
]

#: The sampling defaults of flexjudge (the official evaluation scripts' T and top-p; the
#: paper's 4096-token budget). Declared once: the judge's config and the CLI read them here.
DEFAULT_TEMPERATURE = 0.6
DEFAULT_TOP_P = 0.95
DEFAULT_MAX_NEW_TOKENS = 4096


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. ``max_new_tokens`` is always explicit (vLLM's default of 16, and a
    random model that never emits EOS, both make an unset bound a bug)."""

    n: int = 1
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    seed: int | None = 0
    #: Stop once these strings have appeared ``stop_count`` times in the completion ...
    stop: tuple[str, ...] = ()
    stop_count: int = 1
    #: ... counting only those after the last occurrence of this string, when set: the judge
    #: counts ``</answer>`` only after the last ``</think>``, so reasoning that quotes the tag
    #: (the system prompt shows it) keeps its vote.
    stop_after: str | None = None

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

    def truncate(self, text: str) -> tuple[str, bool]:
        """``text`` cut where these parameters stop it (see :func:`truncate_at_stop`)."""
        return truncate_at_stop(text, self.stop, self.stop_count, after=self.stop_after)


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

    def check(self, request: ChatRequest) -> None:
        """Raise :class:`~flexjudge.errors.MediaError` when ``request`` cannot be generated
        for (here: a media type the model does not take). Engines that load media add their
        own checks (a missing file, a clip too long) and call this first."""
        for kind in sorted(request.modalities()):
            if kind not in self.modalities:
                takes = ", ".join(["text", *sorted(self.modalities)])
                raise MediaError(
                    f"{self.info.engine} engine cannot take {kind} input (it takes: {takes})"
                )

    def close(self) -> None:  # noqa: B027 - optional hook, deliberately a no-op by default
        """Release model memory; the default does nothing."""


def truncate_at_stop(
    text: str, stop: Sequence[str], count: int, *, after: str | None = None
) -> tuple[str, bool]:
    """Cut ``text`` right after the ``count``-th occurrence of any stop string; with
    ``after``, only occurrences after the last ``after`` count (an ``after`` seen later
    starts the count again).

    Returns the (possibly) shortened text and whether the stop condition was met. Shared by
    engines so that every engine stops at exactly the same place.
    """
    if not stop:
        return text, False
    seen, pos = 0, 0
    armed = after is None
    while True:
        hits = [(text.find(s, pos), s, True) for s in stop]
        if after is not None:
            hits.append((text.find(after, pos), after, False))
        found = [(i, s, is_stop) for i, s, is_stop in hits if i >= 0]
        if not found:
            return text, False
        i, s, is_stop = min(found, key=lambda h: (h[0], not h[2]))
        pos = i + len(s)
        if not is_stop:
            seen, armed = 0, True
            continue
        if not armed:
            continue
        seen += 1
        if seen >= count:
            return text[:pos], True
