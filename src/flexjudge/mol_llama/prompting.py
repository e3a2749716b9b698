"""Turning judge prompts into the token layout Mol-LLaMA expects.

Each molecule is one ``<mol>`` in a prompt text and becomes ``num_query_tokens`` (8) ``<mol>``
tokens; the model fills those slots with the molecule's Q-Former outputs. Messages are
rendered with the hand-written Llama-3 format (:data:`~.protocol_texts.MOL_LLAMA3_CHAT_TEMPLATE`),
tokenised message by message without special tokens, as the original does, and batches are
padded on the left with ``[PAD]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from flexjudge.errors import InputError
from flexjudge.mol_llama.protocol_texts import (
    MOL_TOKEN,
    PAD_TOKEN,
    PAIRWISE_JUDGE_SYSTEM,
    PAIRWISE_JUDGE_USER,
    PAMPA_FINAL_ANSWER_PATTERN,
    PAMPA_JUDGE_SYSTEM,
    PAMPA_JUDGE_USER,
)

__all__ = [
    "ChatBatch",
    "expand_mol_tokens",
    "pairwise_judge_messages",
    "pampa_candidate_text",
    "pampa_judge_messages",
    "render_message",
    "tokenize_chats",
]

_HEADER = "<|start_header_id|>{role}<|end_header_id|>\n\n"


def expand_mol_tokens(text: str, per_molecule: int = 8) -> str:
    """Each ``<mol>`` becomes ``per_molecule`` consecutive ``<mol>`` tokens."""
    return text.replace(MOL_TOKEN, MOL_TOKEN * per_molecule)


def pampa_candidate_text(response: str) -> str:
    """The candidate's answer as the PAMPA judge sees it: cut before the first "Final answer:"
    and stripped; unchanged (not stripped) when there is none, exactly as the original."""
    match = re.search(PAMPA_FINAL_ANSWER_PATTERN, response)
    return response[: match.start()].strip() if match else response


def pampa_judge_messages(response: str, per_molecule: int = 8) -> list[dict[str, str]]:
    """System and user messages of the pointwise PAMPA judge for one candidate response."""
    user = expand_mol_tokens(PAMPA_JUDGE_USER, per_molecule) + pampa_candidate_text(response)
    return [{"role": "system", "content": PAMPA_JUDGE_SYSTEM}, {"role": "user", "content": user}]


def pairwise_judge_messages(
    question: str, answer1: str, answer2: str, per_molecule: int = 8
) -> list[dict[str, str]]:
    """System and user messages of the pairwise DPO-labelling judge. ``question`` names each
    molecule with one ``<mol>`` (expanded here); generation is primed with ``<think>``
    (``protocol_texts.THINK_PREFILL``)."""
    # One pass over the template, so an answer that contains "<<ANSWER2>>" stays as written
    # (the original's chained str.replace would substitute inside it).
    slots = {
        "<<QUESTION>>": expand_mol_tokens(question, per_molecule),
        "<<ANSWER1>>": answer1,
        "<<ANSWER2>>": answer2,
    }
    user = re.sub("|".join(map(re.escape, slots)), lambda m: slots[m.group(0)], PAIRWISE_JUDGE_USER)
    return [
        {"role": "system", "content": PAIRWISE_JUDGE_SYSTEM},
        {"role": "user", "content": user},
    ]


def render_message(message: dict[str, str], assistant_prefix: str = "") -> str:
    """One message in the hand-written Llama-3 format; a user turn ends with the assistant
    header and ``assistant_prefix`` (e.g. :data:`THINK_PREFILL`)."""
    role, content = message.get("role"), message.get("content")
    if not isinstance(content, str):
        raise InputError(f"message content must be text, got {type(content).__name__}")
    if role == "system":
        return "<|begin_of_text|>" + _HEADER.format(role="system") + content + "<|eot_id|>"
    if role == "user":
        head = _HEADER.format(role="user") + content + "<|eot_id|>"
        return head + _HEADER.format(role="assistant") + assistant_prefix
    if role == "assistant":
        return content + "<|eot_id|>"
    raise InputError(f"unknown message role {role!r} (system, user or assistant)")


@dataclass(frozen=True)
class ChatBatch:
    """Left-padded token ids [B, L], attention mask and ``<mol>`` flags."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    mol_token_flag: torch.Tensor


def tokenize_chats(
    chats: Sequence[Sequence[dict[str, str]]], tokenizer: Any, *, assistant_prefix: str = ""
) -> ChatBatch:
    """Tokenise each conversation message by message (no special tokens added) and pad the
    batch on the left with ``[PAD]``."""
    pad_id = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    mol_id = tokenizer.convert_tokens_to_ids(MOL_TOKEN)
    unk = getattr(tokenizer, "unk_token_id", None)
    if pad_id is None or mol_id is None or unk in (pad_id, mol_id):
        raise InputError(f"the tokenizer has no {PAD_TOKEN} or {MOL_TOKEN} token")
    rows: list[list[int]] = []
    for chat in chats:
        ids: list[int] = []
        for message in chat:
            text = render_message(message, assistant_prefix)
            ids += tokenizer(text, add_special_tokens=False)["input_ids"]
        rows.append(ids)
    width = max((len(r) for r in rows), default=0)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, ids in enumerate(rows):
        if ids:
            input_ids[i, width - len(ids) :] = torch.tensor(ids)
            mask[i, width - len(ids) :] = 1
    return ChatBatch(input_ids, mask, (input_ids == mol_id) & mask.bool())
