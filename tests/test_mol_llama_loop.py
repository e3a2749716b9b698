"""Flex-Mol-LLaMA end to end, as a user builds and uses it: a tiny LLaMA-3 judge trained
text-only with ``flexjudge train``, grafted with ``flexjudge mol-llama assemble`` and judged with
``flexjudge score --protocol pampa`` (real subprocesses); then PAMPA best-of-N and DPO pair
labelling in both orders through ``Judge.run``. Greedy throughout; a few training steps leave
the tiny judge far from a valid format, so verdicts may be invalid: the tests check the path
(what reaches the model, in which order, from which weights), not the tiny model's taste."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from tests._mol_llama_helpers import pampa_request

from flexjudge import Judge
from flexjudge.bench.metrics import best_of_n
from flexjudge.prompts import build_chat
from flexjudge.prompts.protocol import PAMPA_QUESTION
from flexjudge.request import JudgeRequest
from flexjudge.train import build_rows, write_rows
from flexjudge.train.data import TrainingExample

pytestmark = pytest.mark.slow

GREEDY: dict[str, Any] = dict(device="cpu", temperature=0.0, max_new_tokens=8)
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


def test_pampa_best_of_n_through_judge_run(flex: dict[str, Path]) -> None:
    """N candidates per molecule, each scored by the PAMPA judge; the house's best-of-N metric
    picks the top-scored one (the official ``best_of_N.py``'s selection, done by
    ``flexjudge.bench.metrics.best_of_n``)."""
    candidates = {
        ASPIRIN: ["Lipophilic. Final answer: High", "Acidic. Final answer: Low", "Unsure."],
        CAFFEINE: ["Small. Final answer: High", "Polar. Final answer: Low", "Planar."],
    }
    requests = [
        pampa_request(c, s, id=f"{s}#{k}") for s, cs in candidates.items() for k, c in enumerate(cs)
    ]
    with Judge(str(flex["flex"]), **GREEDY) as judge:
        verdicts = list(judge.run(requests))
        prompts = [judge.prompt(r) for r in requests]
    assert [v.id for v in verdicts] == [r.id for r in requests]
    assert all(v.status in ("ok", "invalid") for v in verdicts)
    for prompt, text in zip(prompts, [c for cs in candidates.values() for c in cs]):
        seen = text.split(" Final answer:")[0]
        assert prompt.endswith(
            f"[Assistant's Answer]\n{seen}<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        )
        assert "Final answer" not in prompt.split("[Assistant's Answer]")[1]
    scores = [v.scores[0] if v.scores else None for v in verdicts]
    groups = [r.id.split("#")[0] for r in requests]
    correct = [True, False, False, True, False, False]
    metrics = best_of_n(groups, scores, correct)
    no_valid = sum(all(s is None for s, g in zip(scores, groups) if g == m) for m in candidates)
    assert metrics["best_of_n_accuracy"].n == 2
    assert metrics["best_of_n_accuracy"].n_invalid == no_valid
    assert metrics["candidate_accuracy"].value == pytest.approx(1 / 3)


def test_pairs_are_labelled_in_both_orders(flex: dict[str, Path], tmp_path: Path) -> None:
    pairs = [
        JudgeRequest.build(
            id=f"pair-{k}",
            task="pairwise",
            protocol="mol_pairwise",
            instruction="Explain the structure of <mol>.",
            molecules=[smiles],
            responses=answers,
        )
        for k, (smiles, answers) in enumerate(
            [
                (ASPIRIN, ["An acetylated salicylic acid.", "A sugar."]),
                (CAFFEINE, ["A purine alkaloid.", "A fatty acid."]),
            ]
        )
    ]
    store = tmp_path / "pairs.sqlite"
    with Judge(str(flex["flex"]), order="swap", store=store, **GREEDY) as judge:
        verdicts = list(judge.run(pairs))
        again = list(judge.run(pairs))
        stats = judge.cache_stats
        engine = judge.engine
        chats = [build_chat(pairs[0], o, native=engine.modalities) for o in ([0, 1], [1, 0])]
        shown = [engine.render(c) for c in chats]
    for verdict in verdicts:
        assert [v.order for v in verdict.votes] == [[0, 1], [1, 0]]
        assert verdict.status in ("ok", "invalid")
    a, b = pairs[0].responses[0].text, pairs[0].responses[1].text
    assert shown[0].index(a) < shown[0].index(b) and shown[1].index(b) < shown[1].index(a)
    assert shown[1] == shown[0].replace(a, "\0").replace(b, a).replace("\0", b)
    assert stats is not None and stats.hits == 4 and stats.engine_calls == 1
    assert [v.to_json() for v in again] == [v.to_json() for v in verdicts]
