"""The judge prompts (verbatim, in prompts.protocol) and the token layout the checkpoint
expects, from the prompts ``build_chat`` makes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import torch
from tests._mol_llama_helpers import mol_messages, pampa_request

from flexjudge.errors import InputError
from flexjudge.mol_llama.prompting import render_message, tokenize_chats
from flexjudge.prompts import protocol as P
from flexjudge.prompts.build import pampa_candidate_text
from flexjudge.request import JudgeRequest


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_prompt_texts_are_pinned() -> None:
    # Digests of the texts as read from example/pampa/prompts.py and
    # example/data_provider/prompts.py (flex-judge @ 0e34d5f): any edit shows up here.
    assert P.PAMPA_JUDGE_SYSTEM.startswith("\n\nYou are a helpful assistant.")
    assert "in FISRT DECIMAL. Consider" in P.PAMPA_JUDGE_SYSTEM
    assert P.PAMPA_JUDGE_SYSTEM.endswith("for example, <answer>3.8</answer>.")
    assert P.PAMPA_JUDGE_SYSTEM.count("\n") == 11  # 2 leading, 8 sub-dimensions, 1 before "Avoid"
    assert P.PAMPA_JUDGE_USER.endswith("Molecule <mol>.\n\n[Assistant's Answer]\n")
    assert P.PAIRWISE_JUDGE_SYSTEM.endswith("judge one of them as the WINNER WITH A HIGHER SCORE.")
    assert "for example,<answer>3</answer><answer>8</answer>. You MUST score both assitants" in (
        P.PAIRWISE_JUDGE_SYSTEM
    )
    assert {
        "pampa_system": _sha(P.PAMPA_JUDGE_SYSTEM),
        "pampa_user": _sha(P.PAMPA_JUDGE_USER),
        "pairwise_system": _sha(P.PAIRWISE_JUDGE_SYSTEM),
        "pairwise_user": _sha(P.PAIRWISE_JUDGE_USER),
    } == {
        "pampa_system": "f3056437b84db206",
        "pampa_user": "c62ff4e37f379a87",
        "pairwise_system": "761cb41fd52d9e49",
        "pairwise_user": "03aa62e7c48984cd",
    }


@pytest.mark.parametrize(
    ("response", "seen"),
    [
        ("Polar groups... Final answer: High permeability", "Polar groups..."),
        ("  Small and neutral.\nfinal Answer: low-to-moderate ", "Small and neutral."),
        ("  no verdict given  ", "  no verdict given  "),  # unchanged, not even stripped
    ],
)
def test_pampa_candidate_is_cut_before_final_answer(response: str, seen: str) -> None:
    assert pampa_candidate_text(response) == seen
    system, user = mol_messages(pampa_request(response))
    assert system["content"] == P.PAMPA_JUDGE_SYSTEM
    assert user["content"] == P.PAMPA_JUDGE_USER.replace("<mol>", "<mol>" * 8) + seen


def test_pairwise_messages_fill_the_slots_once() -> None:
    request = JudgeRequest.build(
        task="pairwise",
        protocol="mol_pairwise",
        instruction="Describe <mol>.",
        molecules=["c1ccccc1"],
        responses=["It is <<ANSWER2>>.", "Benzene."],
    )
    system, user = mol_messages(request)
    assert system["content"] == P.PAIRWISE_JUDGE_SYSTEM
    # An answer quoting a slot name keeps it: the slots are filled in one pass.
    assert user["content"] == (
        "\n\n[Question]\n\nDescribe " + "<mol>" * 8 + ".\n\n[Assistant 1's Answer]\n"
        "It is <<ANSWER2>>.\n\n[Assistant 2's Answer]\nBenzene."
    )


def test_hand_written_llama3_format() -> None:
    sys_text = render_message({"role": "system", "content": " S "})
    assert (
        sys_text == "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n S <|eot_id|>"
    )
    user = render_message({"role": "user", "content": "U"}, P.THINK_PREFILL)
    assert user == (
        "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n<think>"
    )
    with pytest.raises(InputError, match="role"):
        render_message({"role": "tool", "content": "x"})


def test_token_layout_left_padding_and_mol_slots(tiny_mol_llama: Path) -> None:
    from transformers import AutoTokenizer

    tok: Any = AutoTokenizer.from_pretrained(tiny_mol_llama)
    assert tok.padding_side == "left" and tok.pad_token == "[PAD]"
    pad, mol = tok.convert_tokens_to_ids("[PAD]"), tok.convert_tokens_to_ids("<mol>")
    assert (pad, mol) == (len(tok) - 2, len(tok) - 1)
    chats = [mol_messages(pampa_request(r)) for r in ("short", "a much longer answer " * 5)]
    batch = tokenize_chats(chats, tok)
    ids, mask, flags = batch.input_ids, batch.attention_mask, batch.mol_token_flag
    n_pad = int((mask[0] == 0).sum())
    assert n_pad > 0 and int((mask[1] == 0).sum()) == 0
    assert ids[0, :n_pad].tolist() == [pad] * n_pad and mask[0, n_pad:].all()
    for row in range(2):
        real = ids[row][mask[row].bool()]
        assert real[0] == tok.convert_tokens_to_ids("<|begin_of_text|>")
        where = torch.nonzero(flags[row]).view(-1)
        first = int(where[0])
        assert len(where) == 8 and torch.equal(where, torch.arange(first, first + 8))
        header = tok("<|start_header_id|>assistant<|end_header_id|>\n\n", add_special_tokens=False)
        assert real[-len(header["input_ids"]) :].tolist() == header["input_ids"]
        # The saved Jinja template renders the same tokens as the hand-written format.
        templated = tok.apply_chat_template(chats[row], tokenize=True)
        templated = templated["input_ids"] if hasattr(templated, "keys") else templated
        assert templated == real.tolist()
    primed = tokenize_chats(chats[:1], tok, assistant_prefix=P.THINK_PREFILL)
    assert tok.decode(primed.input_ids[0]).endswith("<|end_header_id|>\n\n<think>")
