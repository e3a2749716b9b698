"""Chats: what a prompt is once built and what an engine takes - messages of text and media
parts, and the text the assistant turn already starts with. Below both the prompt builder and
the engines, which share these types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: Modalities a chat part can carry. A "molecule" part holds a canonical SMILES, for engines
#: that read molecules natively (Flex-Mol-LLaMA's graph encoders).
Modality = Literal["text", "image", "video", "audio", "molecule"]


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
