"""Training rows from judging requests: the prompt comes from the same builder that judging
uses, the target from :func:`~flexjudge.prompts.format_target`, which the parser reads back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge.engines.base import ChatRequest
from flexjudge.errors import InputError
from flexjudge.io import AtomicWriter, dump_json_line, read_jsonl
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
            raise InputError(
                "training is text-only: this request carries media "
                f"({', '.join(sorted(chat.modalities()))})"
            )
        out.append({"role": m.role, "content": m.text()})
    return out


def to_prompt_completion(example: TrainingExample, *, answer_first: bool = False) -> dict[str, Any]:
    """One conversational prompt-completion row. The completion starts with ``<think>\\n``
    (the primed prefix at judging time), so the loss covers it and the end-of-turn token."""
    chat = build_chat(example.request, prime_think=False)
    target = format_target(example.reasoning, example.answers, answer_first=answer_first)
    return {
        "prompt": chat_to_text_messages(chat),
        "completion": [{"role": "assistant", "content": target}],
    }


def build_rows(
    examples: Iterable[TrainingExample], *, answer_first: bool = False
) -> list[dict[str, Any]]:
    return [to_prompt_completion(e, answer_first=answer_first) for e in examples]


def _row_problem(row: Any) -> str | None:
    """Why ``row`` is not a conversational prompt-completion row, or None."""
    if not isinstance(row, dict):
        return "not a JSON object"
    prompt, completion = row.get("prompt"), row.get("completion")
    if not isinstance(prompt, list) or not prompt:
        return "'prompt' must be a non-empty list of messages"
    if not isinstance(completion, list) or len(completion) != 1:
        return "'completion' must be a list of one assistant message"
    for where, messages, roles in (
        ("prompt", prompt, ("system", "user")),
        ("completion", completion, ("assistant",)),
    ):
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in roles:
                return f"every {where} message needs a role in {', '.join(roles)}"
            if not isinstance(m.get("content"), str):
                return f"{where} message content must be a string (training is text-only)"
    return None


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read training rows from JSONL: one conversational prompt-completion row per line
    (``{"prompt": [system?, user], "completion": [assistant]}``, string contents), as
    :func:`to_prompt_completion` and ``flexjudge curate`` write them. Other keys are kept
    (``train_sft`` ignores them). Blank lines are skipped. Any bad line raises
    :class:`InputError` naming the first one and how many there are."""
    path = Path(path)
    rows: list[dict[str, Any]] = []
    bad: list[str] = []
    for line in read_jsonl(path, what="training data"):
        if line.error is not None:
            bad.append(f"line {line.number}: {line.error.cause}")
            continue
        problem = _row_problem(line.value)
        if problem:
            bad.append(f"line {line.number}: {problem}")
        else:
            rows.append(line.value)
    if bad:
        raise InputError(
            f"{path}: {len(bad)} of {len(bad) + len(rows)} rows are malformed (first: {bad[0]})"
        )
    if not rows:
        raise InputError(f"{path}: no training rows")
    return rows


def write_rows(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSONL (UTF-8, one per line), atomically; returns how many were written."""
    n = 0
    with AtomicWriter(path) as out:
        for row in rows:
            out.write(dump_json_line(row))
            n += 1
    return n
