"""Shared by the tests/test_mol_llama_*.py modules (the tiny Mol-LLaMA itself is the session
fixture ``tiny_mol_llama`` in conftest.py): a second tiny LLaMA-3 to graft, and the judge
prompts as Mol-LLaMA sees them, built by the one builder, ``build_chat``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from flexjudge.mol_llama import chat_messages
from flexjudge.prompts import build_chat
from flexjudge.prompts.protocol import PAMPA_QUESTION
from flexjudge.request import JudgeRequest

_BUILT: dict[tuple[str, Path], Path] = {}


def tiny_judge(factory: pytest.TempPathFactory) -> Path:
    """A second tiny LLaMA-3 (another seed): the "judge" grafted onto the tiny Mol-LLaMA."""
    key = ("judge", factory.getbasetemp())
    if key not in _BUILT:
        from flexjudge.testing.tiny import build_tiny_model

        _BUILT[key] = build_tiny_model(
            factory.mktemp("mol-llama-judge") / "judge", arch="llama3", seed=7
        )
    return _BUILT[key]


def pampa_request(response: str, smiles: str = "CCO", **fields: object) -> JudgeRequest:
    """A PAMPA pointwise judging request (the protocol's own question)."""
    return JudgeRequest.build(
        task="score",
        protocol="pampa",
        instruction=PAMPA_QUESTION,
        molecules=[smiles],
        responses=[response],
        **fields,
    )


def mol_messages(request: JudgeRequest, order: Sequence[int] | None = None) -> list[dict[str, str]]:
    """``request``'s messages as Mol-LLaMA reads them: molecules as 8 ``<mol>`` slots."""
    return chat_messages(build_chat(request, order, native={"molecule"}))[0]
