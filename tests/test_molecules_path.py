"""Molecules through the one path: RDKit depiction and text block, named, into a real tiny VL."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from flexjudge import Candidate, Judge, JudgeRequest, MediaError
from flexjudge.prompts import build_chat

pytest.importorskip("rdkit")
ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_molecule_views():
    both = build_chat(
        JudgeRequest.build(task="score", instruction="q", responses=["a"], molecules=[ASPIRIN])
    )
    kinds = [p.type for p in both.messages[1].parts]
    assert kinds[0] == "image" and "C9H8O4" in both.messages[1].text()
    text = build_chat(
        JudgeRequest.build(
            task="score",
            instruction="q",
            responses=["a"],
            molecules=[ASPIRIN],
            molecule_view="text",
        )
    )
    assert all(p.type == "text" for p in text.messages[1].parts)
    image = build_chat(
        JudgeRequest.build(
            task="score",
            instruction="q",
            responses=["a"],
            molecules=[ASPIRIN],
            molecule_view="image",
        )
    )
    assert "C9H8O4" not in image.messages[1].text()


def test_candidate_molecules_are_named_per_response():
    req = JudgeRequest.build(
        task="pairwise",
        instruction="Which is more soluble?",
        responses=[Candidate(molecules=["CCO"]), Candidate(molecules=["CCCCCCCC"])],
        molecule_view="text",
    )
    user = build_chat(req).messages[1].text()
    assert "[Assistant 1's Molecule]" in user and "Molecule 1" in user and "Molecule 2" in user


def test_score_a_molecule_end_to_end_cli(tiny_vl):
    out = subprocess.run(
        [
            shutil.which("flexjudge"),
            "score",
            "--model",
            str(tiny_vl),
            "--molecule",
            ASPIRIN,
            "-i",
            "Is this molecule likely to cross membranes?",
            "-r",
            "Yes, moderately.",
            "--max-new-tokens",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(out.stdout)["status"] in ("ok", "invalid")


def test_invalid_smiles_is_named(tiny_vl):
    judge = Judge(str(tiny_vl), max_new_tokens=4, device="cpu")
    with pytest.raises(MediaError, match="C1CC"):
        judge.score("q", "a", molecules=["C1CC"])
    out = list(
        judge.run(
            [
                {
                    "id": "m",
                    "task": "score",
                    "instruction": "q",
                    "responses": ["a"],
                    "molecules": ["Xx"],
                }
            ]
        )
    )
    assert out[0].status == "error" and "Xx" in out[0].error
