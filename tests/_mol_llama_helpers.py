"""Shared by the tests/test_mol_llama_*.py modules: the tiny Mol-LLaMA, built once per session
by the same builder ``flexjudge tiny-model --arch mol_llama`` will use."""

from __future__ import annotations

from pathlib import Path

import pytest

_BUILT: dict[tuple[str, Path], Path] = {}


def tiny_mol_llama(factory: pytest.TempPathFactory) -> Path:
    """The tiny Mol-LLaMA checkpoint (its sources under ``sources/``)."""
    key = ("mol-llama", factory.getbasetemp())
    if key not in _BUILT:
        from flexjudge.testing.tiny_mol_llama import build_tiny_mol_llama

        _BUILT[key] = build_tiny_mol_llama(factory.mktemp("mol-llama") / "tiny")
    return _BUILT[key]


def tiny_judge(factory: pytest.TempPathFactory) -> Path:
    """A second tiny LLaMA-3 (another seed): the "judge" grafted onto the tiny Mol-LLaMA."""
    key = ("judge", factory.getbasetemp())
    if key not in _BUILT:
        from flexjudge.testing.tiny import build_tiny_model

        _BUILT[key] = build_tiny_model(
            factory.mktemp("mol-llama-judge") / "judge", arch="llama3", seed=7
        )
    return _BUILT[key]
