"""The paper's molecular workflow through the loop's commands, on real tiny checkpoints: a
Mol-LLaMA policy samples answers about molecules (read natively, at the prompt's <mol> slot),
PAMPA candidates go through best-of-n --eval with the Mol-LLaMA-compatible judge (protocol
pampa), DPO pairs are judged with mol_pairwise in both orders, and the RDKit path (a
vision-language judge shown depictions and text) takes the same candidates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flexjudge.cli.main import cli
from flexjudge.loop import iter_prompts
from flexjudge.prompts.protocol import PAMPA_QUESTION

ASPIRIN, CAFFEINE = "CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"
FAST = ["--max-new-tokens", "6", "--temperature", "0", "--device", "cpu", "--json"]


def invoke(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_molecule_goes_to_its_slot_or_first():
    slotted, plain = iter_prompts(
        [
            {"prompt": "Describe <mol> briefly.", "molecules": [ASPIRIN]},
            {"prompt": "Describe it.", "molecules": [ASPIRIN], "molecule_view": "text"},
        ]
    )
    parts = slotted.chat(native=True).messages[0].parts
    assert [p.type for p in parts] == ["text", "molecule", "text"]
    assert (parts[0].text, parts[2].text) == ("Describe ", " briefly.")
    parts = plain.chat().messages[0].parts
    assert [p.type for p in parts] == ["text", "text"] and "Formula" in parts[0].text


@pytest.fixture(scope="module")
def pampa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PAMPA candidates: four answers per molecule, gold from the call after "Final answer"."""
    rows = []
    for smiles, label in ((ASPIRIN, "High"), (CAFFEINE, "Low-to-moderate")):
        for k, call in enumerate(["High", "Low-to-moderate", "High", "Low-to-moderate"]):
            rows.append(
                {
                    "prompt_id": smiles,
                    "prompt": PAMPA_QUESTION + "\nMolecule <mol>.",
                    "instruction": PAMPA_QUESTION,
                    "molecules": [smiles],
                    "response": f"Reason {k}. Final answer: {call} permeability",
                    "correct": call == label,
                }
            )
    path = tmp_path_factory.mktemp("pampa") / "pampa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
def test_pampa_best_of_n_eval_with_the_mol_llama_judge(pampa, tiny_mol_llama, tmp_path):
    out = tmp_path / "sel.jsonl"
    s = invoke("best-of-n", str(pampa), "-m", str(tiny_mol_llama), "-o", str(out), "--protocol",
               "pampa", "--eval", "--n", "2", "4", "--trials", "10", *FAST)  # fmt: skip
    assert s["prompts"] == 2 and s["candidates"] == 8 and s["judgments"] == 8
    assert [r["n"] for r in s["eval"]["rows"]] == [2, 4]
    four = s["eval"]["rows"][1]
    assert four["random"]["mean"] == 0.5 and four["oracle"]["mean"] == 1.0
    assert len(four["judge"]["trials"]) == 10


@pytest.mark.slow
def test_mol_llama_policy_samples_and_mol_pairwise_labels_pairs(tiny_mol_llama, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "".join(
            json.dumps({"id": i, "prompt": "Describe the structure of <mol>.", "molecules": [m]})
            + "\n"
            for i, m in enumerate((ASPIRIN, CAFFEINE))
        )
    )
    cands = tmp_path / "cands.jsonl"
    s = invoke("sample", str(prompts), "-m", str(tiny_mol_llama), "-o", str(cands), "--n", "2",
               "-t", "0.8", "-t", "1.2", "--max-new-tokens", "4", "--device", "cpu", "--json")  # fmt: skip
    assert s["candidates"] == 4 and s["generated"] == 4
    out = tmp_path / "pairs.jsonl"
    s = invoke("pairs", str(cands), "-m", str(tiny_mol_llama), "-o", str(out), "--protocol",
               "mol_pairwise", "--policy", "expected-winner", *FAST)  # fmt: skip
    assert s["pairs_judged"] == 2 and s["votes"] == 4  # both orders of each pair
    assert s["kept"] + sum(s["dropped"].values()) == 2


@pytest.mark.slow
def test_the_rdkit_path_takes_the_same_candidates(pampa, tiny_vl, tmp_path):
    s = invoke("best-of-n", str(pampa), "-m", str(tiny_vl), "-o", str(tmp_path / "s.jsonl"),
               "--scale", "1.0-10.0", *FAST)  # fmt: skip
    assert s["prompts"] == 2 and s["judgments"] == 8
