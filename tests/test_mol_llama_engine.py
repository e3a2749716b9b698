"""The transformers engine on the tiny Mol-LLaMA checkpoint: picked by the registry, prompts in
the hand-written format with 8 ``<mol>`` slots per molecule, the graph batch in prompt order,
greedy judging through ``Judge`` (batched equals alone, cached), and clear refusals."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from tests._mol_llama_helpers import mol_messages, pampa_request

from flexjudge import Judge
from flexjudge.engines import create_engine
from flexjudge.engines.hf import TransformersEngine
from flexjudge.engines.mol_llama import MolLLaMAEngine
from flexjudge.engines.registry import checkpoint_model_type
from flexjudge.errors import ConfigError, MediaError
from flexjudge.mol_llama.prompting import render_message, tokenize_chats
from flexjudge.prompts import build_chat
from flexjudge.prompts.protocol import PAMPA_QUESTION, THINK_PREFILL
from flexjudge.request import JudgeRequest

ASPIRIN, ETHANOL = "CC(=O)Oc1ccccc1C(=O)O", "CCO"
GREEDY: dict[str, Any] = dict(device="cpu", temperature=0.0, max_new_tokens=6)


@pytest.fixture(scope="module")
def engine(tiny_mol_llama: Path) -> MolLLaMAEngine:
    built = create_engine("transformers", str(tiny_mol_llama), device="cpu")
    assert isinstance(built, MolLLaMAEngine)
    return built


def pairwise(instruction: str = "Which description of <mol> is right?") -> JudgeRequest:
    return JudgeRequest.build(
        task="pairwise",
        protocol="mol_pairwise",
        instruction=instruction,
        molecules=[ASPIRIN],
        responses=["An ester and an acid.", "An alcohol."],
    )


def test_the_registry_picks_the_engine_by_model_type(tiny_mol_llama: Path) -> None:
    assert checkpoint_model_type(str(tiny_mol_llama)) == "mol_llama"
    assert checkpoint_model_type(str(tiny_mol_llama / "sources" / "llm")) == "llama"
    assert checkpoint_model_type(str(tiny_mol_llama / "absent")) is None
    with pytest.raises(ConfigError, match="the vllm engine cannot run"):
        create_engine("vllm", str(tiny_mol_llama))
    with pytest.raises(ConfigError, match="does not take colour"):
        create_engine("transformers", str(tiny_mol_llama), colour="red")
    plain = create_engine("transformers", str(tiny_mol_llama / "sources" / "llm"), device="cpu")
    assert type(plain) is TransformersEngine


def test_the_engine_keeps_the_transformers_engine_surface(
    engine: MolLLaMAEngine, tiny_mol_llama: Path
) -> None:
    ours = inspect.signature(MolLLaMAEngine).parameters
    for name, param in inspect.signature(TransformersEngine).parameters.items():
        assert ours[name].default == param.default and ours[name].kind == param.kind, name
    plain = TransformersEngine(str(tiny_mol_llama / "sources" / "llm"), device="cpu")
    assert set(vars(plain)) <= set(vars(engine))
    assert engine.modalities == {"molecule"} and engine.info.engine == "transformers"
    assert engine.info.details["conformer_seed"] == 0


def test_prompts_are_the_hand_written_format(engine: MolLLaMAEngine) -> None:
    requests = [pampa_request("Small. Final answer: High", ASPIRIN), pampa_request("x" * 40)]
    chats = [build_chat(r, native=engine.modalities) for r in requests]
    for request, chat in zip(requests, chats):
        expected = "".join(render_message(m) for m in mol_messages(request))
        assert engine.render(chat) == expected
    pair = build_chat(pairwise(), native=engine.modalities)
    assert engine.render(pair).endswith("<|end_header_id|>\n\n" + THINK_PREFILL)
    inputs = engine._inputs([*chats, pair])
    reference = tokenize_chats([mol_messages(r) for r in requests], engine.tokenizer)
    width = reference.input_ids.shape[1]
    assert torch.equal(inputs["input_ids"][:2, -width:], reference.input_ids)
    assert torch.equal(inputs["attention_mask"][:2, -width:], reference.attention_mask)
    assert inputs["molecules"].smiles == (ASPIRIN, ETHANOL, ASPIRIN)  # prompt order
    mol_id = engine.tokenizer.convert_tokens_to_ids("<mol>")
    assert (inputs["input_ids"] == mol_id).sum(dim=1).tolist() == [8, 8, 8]


@pytest.mark.slow
def test_greedy_judging_end_to_end(tiny_mol_llama: Path) -> None:
    requests = [
        pampa_request("Lipophilic and small. Final answer: High", ASPIRIN),
        pampa_request("Polar. Final answer: Low", ETHANOL),
        pairwise(),
        {"task": "score", "instruction": "Is <mol> drug-like? (Ignored.)", "responses": ["Yes"]},
    ]
    with Judge(str(tiny_mol_llama), **GREEDY) as judge:
        batched = list(judge.run(requests))
        alone = list(judge.with_config(batch_size=1).run(requests))
    for verdict in batched:
        assert verdict.status in ("ok", "invalid"), verdict.error
        assert verdict.votes and all(
            v.finish_reason in ("stop", "eos", "length") for v in verdict.votes
        )
    # Left padding is masked out: each request gets the same tokens batched and alone.
    assert [[v.text for v in x.votes] for x in batched] == [
        [v.text for v in x.votes] for x in alone
    ]


def test_the_store_answers_a_second_run(tiny_mol_llama: Path, tmp_path: Path) -> None:
    requests = [pampa_request("Small."), pampa_request("Small.", smiles="OCC")]
    with Judge(str(tiny_mol_llama), store=tmp_path / "s.sqlite", **GREEDY) as judge:
        first = list(judge.run(requests))
        again = list(judge.run(requests))
        stats = judge.cache_stats
    assert stats is not None and stats.engine_calls == 1  # "OCC" is "CCO": one key
    assert [v.votes[0].text for v in again] == [v.votes[0].text for v in first]


def test_bad_molecules_and_media_are_named(
    tiny_mol_llama: Path, png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rdkit.Chem import AllChem

    with Judge(str(tiny_mol_llama), **GREEDY) as judge:
        bad = list(judge.run([pampa_request("x", smiles="C1CC"), pampa_request("y")]))
        assert bad[0].status == "error" and "invalid SMILES 'C1CC'" in (bad[0].error or "")
        assert bad[1].status in ("ok", "invalid")
        with pytest.raises(MediaError, match="cannot take image input"):
            judge.score("Describe the picture.", "A cat.", images=[png])
        # A molecule whose conformer cannot be made (a fake embedder: RDKit embeds every sane
        # SMILES) fails in the engine's check, named, and nothing is generated for it.
        monkeypatch.setattr(AllChem, "EmbedMultipleConfs", lambda mol, **kw: [])
        failed = list(judge.run([pampa_request("x", smiles="CCN")]))
        assert failed[0].status == "error" and "'CCN'" in (failed[0].error or "")
        assert "no 3D conformer" in (failed[0].error or "")


@pytest.mark.slow
def test_show_prompt_renders_without_weights(tiny_mol_llama: Path) -> None:
    args = ["score", "--model", str(tiny_mol_llama), "--protocol", "pampa", "--show-prompt"]
    args += ["-i", PAMPA_QUESTION, "-r", "Small. Final answer: High", "--molecule", "OCC"]
    proc = subprocess.run(
        [sys.executable, "-m", "flexjudge.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    with Judge(str(tiny_mol_llama), device="cpu") as judge:
        expected = judge.prompt(pampa_request("Small. Final answer: High"))
    assert proc.stdout == expected + "\n"
    assert expected.count("<mol>") == 8 and expected.startswith("<|begin_of_text|>")
