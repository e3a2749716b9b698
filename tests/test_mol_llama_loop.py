"""Flex-Mol-LLaMA end to end, as a user builds and uses it, in real subprocesses: a tiny LLaMA-3
judge trained text-only with ``flexjudge train``, grafted with ``flexjudge mol-llama assemble``,
judged with ``flexjudge score --protocol pampa``; PAMPA best-of-N with ``flexjudge best-of-n``
and DPO pair labelling in both orders with ``flexjudge pairs``. Greedy throughout; a few training steps leave
the tiny judge far from a valid format, so verdicts may be invalid: the tests check the path
(what reaches the model, in which order, from which weights), not the tiny model's taste."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from tests._mol_llama_helpers import pampa_request

from flexjudge import Judge
from flexjudge.media.molecules import canonical_smiles
from flexjudge.prompts.protocol import (
    PAIRWISE_JUDGE_SYSTEM,
    PAMPA_JUDGE_SYSTEM,
    PAMPA_QUESTION,
)
from flexjudge.request import JudgeRequest
from flexjudge.store.keys import MediaHasher
from flexjudge.train import build_rows, write_rows
from flexjudge.train.data import TrainingExample

pytestmark = pytest.mark.slow

GREEDY: dict[str, Any] = dict(device="cpu", temperature=0.0, max_new_tokens=8)
LOOP_FLAGS = ("--temperature", "0", "--max-new-tokens", "8", "--device", "cpu", "--json")
ASPIRIN, CAFFEINE = "CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"


def flexjudge(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flexjudge.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _rows(path: Path) -> Path:
    examples = [
        TrainingExample(
            JudgeRequest.build(task="score", instruction=f"Name the colour {c}.", responses=[c]),
            "The answer names the colour.",
            ["7"],
        )
        for c in ("red", "blue")
    ] + [
        TrainingExample(
            JudgeRequest.build(task="pairwise", instruction="Name a colour.", responses=[a, b]),
            "Both name one.",
            ["8", "3"],
        )
        for a, b in (("red", "sky"), ("sea", "blue"))
    ]
    write_rows(path, build_rows(examples))
    return path


@pytest.fixture(scope="module")
def flex(tiny_mol_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The trained judge and Flex-Mol-LLaMA, built once by the two commands."""
    work = tmp_path_factory.mktemp("flex-mol-llama")
    judge, out = work / "judge", work / "flex-mol-llama"
    train = flexjudge(
        "train",
        "--model",
        str(tiny_mol_llama / "sources" / "llm"),  # the base LLaMA of the tiny Mol-LLaMA
        "--data",
        str(_rows(work / "rows.jsonl")),
        "--output",
        str(judge),
        "--max-steps",
        "2",
        "--batch-size",
        "2",
        "--lr",
        "1e-3",
        "--warmup-ratio",
        "0",
        "--json",
    )
    assert train.returncode == 0, train.stderr[-2000:]
    assert json.loads(train.stdout)["steps"] == 2
    graft = flexjudge(
        "mol-llama",
        "assemble",
        "--mol-llama",
        str(tiny_mol_llama / "sources" / "mol-llama"),
        "--judge",
        str(judge),
        "--output",
        str(out),
    )
    assert graft.returncode == 0, graft.stderr[-2000:]
    assert graft.stdout.strip() == str(out)
    return {"judge": judge, "flex": out}


def test_the_graft_carries_the_trained_judge(flex: dict[str, Path]) -> None:
    """With Mol-LLaMA's LoRA switched off, Flex-Mol-LLaMA's LLM is the trained judge: the same
    logits on the same text; with it on, the LoRA changes them."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from flexjudge.mol_llama import MolLLaMA

    model = MolLLaMA.from_pretrained(flex["flex"]).eval()
    judge = AutoModelForCausalLM.from_pretrained(flex["judge"]).eval()
    ids = AutoTokenizer.from_pretrained(flex["judge"])("Name the colour red.", return_tensors="pt")
    with torch.no_grad():
        want = judge(**ids).logits
        with model.llm.disable_adapter():
            got = model(ids["input_ids"], ids["attention_mask"]).logits
        lora = model(ids["input_ids"], ids["attention_mask"]).logits
    n = want.shape[-1]  # the judge's vocabulary; Mol-LLaMA adds [PAD] and <mol>
    torch.testing.assert_close(got[..., :n], want)
    assert not torch.allclose(lora[..., :n], want, atol=1e-3)


def test_flexjudge_score_with_the_pampa_protocol(flex: dict[str, Path]) -> None:
    response = "Small and lipophilic, so it crosses. Final answer: High permeability"
    proc = flexjudge(
        "score",
        "--model",
        str(flex["flex"]),
        "--molecule",
        ASPIRIN,
        "--protocol",
        "pampa",
        "-i",
        PAMPA_QUESTION,
        "-r",
        response,
        "--temperature",
        "0",
        "--max-new-tokens",
        "8",
        "--device",
        "cpu",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    verdict = json.loads(proc.stdout)  # pure JSON on stdout
    assert verdict["status"] in ("ok", "invalid") and verdict["n_votes"] == 1
    with Judge(str(flex["flex"]), **GREEDY) as judge:
        here = judge.judge(pampa_request(response, ASPIRIN))
    # The command and the Python API take the same path to the same greedy tokens.
    assert [v["text"] for v in verdict["votes"]] == [v.text for v in here.votes]
    assert verdict["votes"][0]["finish_reason"] in ("eos", "length")


def _candidates(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _stored(store: Path) -> list[dict[str, Any]]:
    """The chat requests that reached the model, as the store describes them."""
    from flexjudge.store import Store

    with Store(store) as db:
        return [json.loads(r["request"]) for r in db.records()]


def _user(description: dict[str, Any]) -> str:
    parts = description["messages"][1]["parts"]
    return "".join(p["text"] if p["type"] == "text" else f"[{p['sha256']}]" for p in parts)


def test_pampa_best_of_n_command(flex: dict[str, Path], tmp_path: Path) -> None:
    """``flexjudge best-of-n`` with the PAMPA protocol: each candidate is scored by the
    verbatim PAMPA judge with its molecule in the graph slot, the answer cut before
    "Final answer:"."""
    answers = {
        ASPIRIN: ["Lipophilic. Final answer: High permeability", "Acidic. Final answer: Low"],
        CAFFEINE: ["Small. Final answer: High permeability", "Polar. Final answer: Low"],
    }
    rows = [
        {"prompt_id": name, "prompt": PAMPA_QUESTION, "molecules": [smiles], "response": text}
        | {"protocol": "pampa", "correct": k == 0}
        for name, smiles in (("aspirin", ASPIRIN), ("caffeine", CAFFEINE))
        for k, text in enumerate(answers[smiles])
    ]
    out = tmp_path / "best.jsonl"
    proc = flexjudge(
        "best-of-n",
        str(_candidates(tmp_path / "candidates.jsonl", rows)),
        "--output",
        str(out),
        "--model",
        str(flex["flex"]),
        "--eval",
        *LOOP_FLAGS,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert (summary["prompts"], summary["judgments"], summary["generated"]) == (2, 4, 4)
    assert summary["eval"]["rows"][0]["random"]["mean"] == 0.5  # one right answer of two
    assert [json.loads(line)["prompt_id"] for line in out.read_text().splitlines()] == [
        "aspirin",
        "caffeine",
    ]
    seen = _stored(out.with_suffix(".sqlite"))
    assert len(seen) == 4
    molecules = {MediaHasher.molecule(canonical_smiles(s)) for s in answers}
    for description in seen:
        assert description["messages"][0]["parts"][0]["text"] == PAMPA_JUDGE_SYSTEM
        assert description["assistant_prefix"] == ""  # PAMPA's judge is not primed
        user = _user(description)
        assert any(f"Molecule [{m}]." in user for m in molecules)
        assert "Final answer" not in user.split("[Assistant's Answer]\n")[1]


def test_pairs_command_labels_both_orders(flex: dict[str, Path], tmp_path: Path) -> None:
    """``flexjudge pairs`` with the DPO-labelling protocol: every pair judged in both orders,
    primed with "<think>", the molecule where the question's <mol> is."""
    rows = [
        {"prompt_id": name, "prompt": "Describe the structure of <mol>.", "molecules": [smiles]}
        | {"response": text, "protocol": "mol_pairwise"}
        for name, smiles in (("aspirin", ASPIRIN), ("caffeine", CAFFEINE))
        for text in ("An ester of salicylic acid.", "A sugar.", "A purine.")
    ]
    out = tmp_path / "pairs.jsonl"
    proc = flexjudge(
        "pairs",
        str(_candidates(tmp_path / "candidates.jsonl", rows)),
        "--output",
        str(out),
        "--model",
        str(flex["flex"]),
        *LOOP_FLAGS,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert (summary["pairs_judged"], summary["votes"], summary["generated"]) == (6, 12, 12)
    seen = _stored(out.with_suffix(".sqlite"))
    assert len(seen) == 12
    shown = set()
    for description in seen:
        assert description["messages"][0]["parts"][0]["text"] == PAIRWISE_JUDGE_SYSTEM
        assert description["assistant_prefix"] == "<think>"
        user = _user(description)
        assert user.startswith("\n\n[Question]\n\nDescribe the structure of [smiles:")
        first = user.split("[Assistant 1's Answer]\n")[1].split("\n\n")[0]
        second = user.split("[Assistant 2's Answer]\n")[1]
        molecule = re.findall(r"\[smiles:[0-9a-f]{64}\]", user)
        assert len(molecule) == 1
        shown.add((molecule[0], first, second))
    assert all((m, b, a) in shown for m, a, b in shown)  # each pair in both orders
