"""Training rows from judging requests: the prompt comes from the same builder that judging
uses, the target from :func:`~flexjudge.prompts.format_target`, which the parser reads back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from flexjudge.engines.base import ChatRequest
from flexjudge.errors import InputError
from flexjudge.prompts import build_chat, format_target
from flexjudge.request import JudgeRequest


@dataclass(frozen=True)
class TrainingExample:
    """A request and the judgement the model should learn to write for it."""

    request: JudgeRequest
    reasoning: str
    answers: Sequence[str]


def chat_to_text_messages(chat: ChatRequest) -> list[dict[str, str]]:
    """Text-only chat messages (string content), as TRL's conversational format expects."""
    out = []
    for m in chat.messages:
        if any(p.type != "text" for p in m.parts):
            raise InputError("training is text-only: this request carries media "
                             f"({', '.join(sorted(chat.modalities()))})")
        out.append({"role": m.role, "content": m.text()})
    return out


def to_prompt_completion(example: TrainingExample, *, answer_first: bool = False) -> dict[str, Any]:
    """One conversational prompt-completion row. The completion starts with ``<think>\\n``
    (the primed prefix at judging time), so the loss covers it and the end-of-turn token."""
    chat = build_chat(example.request, prime_think=False)
    target = format_target(example.reasoning, example.answers, answer_first=answer_first)
    return {"prompt": chat_to_text_messages(chat),
            "completion": [{"role": "assistant", "content": target}]}


def build_rows(examples: Iterable[TrainingExample], *, answer_first: bool = False) -> list[dict[str, Any]]:
    return [to_prompt_completion(e, answer_first=answer_first) for e in examples]
