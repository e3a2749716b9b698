"""From the house's chat requests to the token layout Mol-LLaMA expects.

The prompt itself comes from :func:`flexjudge.prompts.build_chat`, the one builder: protocols
``"pampa"`` and ``"mol_pairwise"`` hold Flex-Mol-LLaMA's verbatim prompts, and for an engine
that reads molecules natively each molecule is a ``Part("molecule", media=<canonical
SMILES>)``. Here:

* :func:`chat_messages`: plain-text messages in which each molecule part becomes
  ``num_query_tokens`` (8) consecutive ``<mol>`` tokens, and the molecules' SMILES in prompt
  order (the order the model fills the slots in). The engine renders these messages with the
  checkpoint's chat template, :data:`~flexjudge.prompts.protocol.MOL_LLAMA3_CHAT_TEMPLATE`.
* :func:`render_message` / :func:`tokenize_chats`: the original's hand-written Llama-3 format,
  tokenised message by message without special tokens and padded on the left with ``[PAD]``:
  the reference the saved chat template is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from flexjudge.chat import ChatRequest
from flexjudge.errors import InputError, MediaError
from flexjudge.mol_llama.tokens import MOL_TOKEN, PAD_TOKEN

__all__ = [
    "ChatBatch",
    "chat_messages",
    "expand_mol_tokens",
    "render_message",
    "tokenize_chats",
]

_HEADER = "<|start_header_id|>{role}<|end_header_id|>\n\n"


def expand_mol_tokens(text: str, per_molecule: int = 8) -> str:
    """Each ``<mol>`` becomes ``per_molecule`` consecutive ``<mol>`` tokens."""
    return text.replace(MOL_TOKEN, MOL_TOKEN * per_molecule)


def chat_messages(
    request: ChatRequest, per_molecule: int = 8
) -> tuple[list[dict[str, str]], list[str]]:
    """``request``'s messages as plain text, each molecule part as ``per_molecule`` ``<mol>``
    tokens, and the SMILES of those molecules in prompt order. Image, video and audio parts
    are a :class:`~flexjudge.errors.MediaError`: Mol-LLaMA takes text and molecules."""
    messages: list[dict[str, str]] = []
    smiles: list[str] = []
    for m in request.messages:
        text = []
        for p in m.parts:
            if p.type == "text":
                text.append(p.text)
            elif p.type == "molecule":
                text.append(expand_mol_tokens(MOL_TOKEN, per_molecule))
                smiles.append(p.media)
            else:
                raise MediaError(f"Mol-LLaMA takes text and molecules, not {p.type} input")
        messages.append({"role": m.role, "content": "".join(text)})
    return messages, smiles


def render_message(message: dict[str, str], assistant_prefix: str = "") -> str:
    """One message in the hand-written Llama-3 format; a user turn ends with the assistant
    header and ``assistant_prefix`` (e.g. :data:`~flexjudge.prompts.protocol.THINK_PREFILL`)."""
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
    batch on the left with ``[PAD]``, as the original does."""
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
