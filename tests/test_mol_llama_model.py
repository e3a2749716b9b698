"""The tiny Mol-LLaMA through ``from_pretrained``: greedy generation end to end, the ``<mol>``
splice, strict loading, and the encoders' own checkpoints."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file
from tests._mol_llama_helpers import mol_messages, pampa_request

from flexjudge.errors import FlexJudgeError, InputError, ModelLoadError
from flexjudge.mol_llama import (
    MolLLaMA,
    featurize_batch,
    register,
    tokenize_chats,
)
from flexjudge.mol_llama.gin import MoleculeSTM
from flexjudge.mol_llama.unimol import UniMolEncoder
from flexjudge.mol_llama.weights import (
    UNIMOL_IGNORED_PREFIXES,
    load_moleculestm_checkpoint,
    load_unimol_checkpoint,
)

ASPIRIN, ETHANOL = "CC(=O)Oc1ccccc1C(=O)O", "CCO"


@pytest.fixture(scope="module")
def tiny(tiny_mol_llama: Path) -> Path:
    return tiny_mol_llama


@pytest.fixture(scope="module")
def loaded(tiny: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    register()
    model = AutoModelForCausalLM.from_pretrained(tiny)
    return model, AutoTokenizer.from_pretrained(tiny)


def test_auto_classes_load_the_saved_folder(loaded: tuple[Any, Any], tiny: Path) -> None:
    from transformers import AutoConfig

    model, _ = loaded
    assert type(model) is MolLLaMA and not model.training
    assert type(AutoConfig.from_pretrained(tiny)).__name__ == "MolLLaMAConfig"
    assert type(model.llm).__name__ == "PeftModelForCausalLM"
    assert model.generation_config.do_sample is False
    assert model.generation_config.pad_token_id == model.config.pad_token_id


def test_greedy_generation_end_to_end(loaded: tuple[Any, Any]) -> None:
    model, tok = loaded
    chats = [
        mol_messages(pampa_request("Lipophilic. Final answer: High")),
        mol_messages(pampa_request("Polar " * 9)),
    ]
    batch = tokenize_chats(chats, tok)
    molecules = featurize_batch([ASPIRIN, ETHANOL])
    args: dict[str, Any] = dict(
        attention_mask=batch.attention_mask, molecules=molecules, max_new_tokens=4
    )
    out = model.generate(batch.input_ids, **args)
    width = batch.input_ids.shape[1]
    assert out.shape == (2, width + 4)
    assert torch.equal(out[:, :width], batch.input_ids)  # prompt, then the new tokens
    assert torch.equal(model.generate(batch.input_ids, **args), out)  # greedy: deterministic
    # The same rows one at a time give the same tokens: left padding is masked out.
    alone = tokenize_chats(chats[1:], tok)
    single = model.generate(
        alone.input_ids,
        attention_mask=alone.attention_mask,
        molecules=featurize_batch([ETHANOL]),
        max_new_tokens=4,
    )
    assert single[0, -4:].tolist() == out[1, -4:].tolist()


def test_molecules_reach_the_llm(loaded: tuple[Any, Any]) -> None:
    model, tok = loaded
    batch = tokenize_chats([mol_messages(pampa_request("x"))], tok)
    with torch.no_grad():
        logits = [
            model(batch.input_ids, batch.attention_mask, molecules=featurize_batch([s])).logits
            for s in (ASPIRIN, ETHANOL)
        ]
        embeds = model.embed(batch.input_ids, featurize_batch([ASPIRIN]))
        queries = model.llm_proj(model.encoder.graph_forward(featurize_batch([ASPIRIN])))
    assert not torch.allclose(logits[0][:, -1], logits[1][:, -1])
    torch.testing.assert_close(embeds[0][batch.mol_token_flag[0]], queries[0])


def test_mol_slots_must_match_the_molecules(loaded: tuple[Any, Any]) -> None:
    model, tok = loaded
    batch = tokenize_chats([mol_messages(pampa_request("x"))], tok)
    with pytest.raises(InputError, match="8 <mol> tokens but 2 molecules need 16"):
        model.generate(batch.input_ids, molecules=featurize_batch([ASPIRIN, ETHANOL]))
    with pytest.raises(InputError, match="no molecules"):
        model.generate(batch.input_ids, max_new_tokens=1)


def test_loading_is_strict(tiny: Path, tmp_path: Path) -> None:
    for name, edit in (
        ("missing", lambda sd: sd.pop("llm_proj.bias")),
        ("unexpected", lambda sd: sd.__setitem__("encoder.extra.weight", torch.zeros(2))),
    ):
        copy = tmp_path / name
        shutil.copytree(tiny, copy, ignore=shutil.ignore_patterns("sources"))
        state = load_file(copy / "model.safetensors")
        edit(state)
        save_file(state, copy / "model.safetensors", metadata={"format": "pt"})
        with pytest.raises(ModelLoadError, match=f"{name}_keys: 1 "):
            MolLLaMA.from_pretrained(copy)


def test_the_published_layout_is_assembled_not_loaded(tiny: Path) -> None:
    with pytest.raises(FlexJudgeError, match="assemble_mol_llama"):
        MolLLaMA.from_pretrained(tiny / "sources" / "mol-llama")


def _tiny_encoders() -> tuple[UniMolEncoder, MoleculeSTM]:
    return UniMolEncoder(2, 32, 64, 4, 8), MoleculeSTM(2, 16)


def test_encoder_checkpoints_load_in_their_own_formats(tiny: Path) -> None:
    unimol, stm = _tiny_encoders()
    src = tiny / "sources" / "mol-llama"
    report = load_unimol_checkpoint(unimol, src / "mol_pre_no_h_220816.pt")
    assert report.ok and report.loaded == len(unimol.state_dict())
    assert report.ignored and all(k.startswith(UNIMOL_IGNORED_PREFIXES) for k in report.ignored)
    saved = torch.load(src / "mol_pre_no_h_220816.pt", weights_only=False)["model"]
    assert torch.equal(unimol.gbf.means.weight, saved["gbf.means.weight"])
    assert load_moleculestm_checkpoint(stm, src / "molecule_model.pth").ok


def test_encoder_checkpoint_mismatch_fails_clearly(tiny: Path, tmp_path: Path) -> None:
    src = tiny / "sources" / "mol-llama"
    ckpt = torch.load(src / "mol_pre_no_h_220816.pt", weights_only=False)
    unimol, stm = _tiny_encoders()
    wrong = dict(ckpt["model"], **{"gbf.mul.weight": torch.zeros(900, 1)})
    torch.save({"model": wrong, "args": argparse.Namespace()}, tmp_path / "shape.pt")
    with pytest.raises(ModelLoadError, match=r"mismatched: gbf\.mul\.weight \[900, 1\]"):
        load_unimol_checkpoint(unimol, tmp_path / "shape.pt")
    extra = dict(ckpt["model"], **{"encoder.adapter.weight": torch.zeros(1)})
    torch.save({"model": extra}, tmp_path / "extra.pt")
    with pytest.raises(ModelLoadError, match=r"unexpected: encoder\.adapter\.weight"):
        load_unimol_checkpoint(unimol, tmp_path / "extra.pt")
    torch.save(ckpt["model"], tmp_path / "bare.pt")
    with pytest.raises(ModelLoadError, match="no 'model' entry"):
        load_unimol_checkpoint(unimol, tmp_path / "bare.pt")
    state = torch.load(src / "molecule_model.pth", weights_only=True)
    state.pop("graph_pred_linear.bias")
    torch.save(state, tmp_path / "stm.pth")
    with pytest.raises(ModelLoadError, match=r"missing: graph_pred_linear\.bias"):
        load_moleculestm_checkpoint(stm, tmp_path / "stm.pth")
    with pytest.raises(ModelLoadError, match="no such checkpoint"):
        load_moleculestm_checkpoint(stm, tmp_path / "absent.pth")
