"""The graft, tensor by tensor: each group of the assembled checkpoint equals its source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file
from tests._mol_llama_helpers import mol_messages, pampa_request, tiny_judge

from flexjudge.errors import ModelLoadError
from flexjudge.mol_llama import MolLLaMA, assemble_mol_llama
from flexjudge.mol_llama.graft import EMBED_KEY, LLM_PREFIX, LM_HEAD_KEY, PROVENANCE_FILE
from flexjudge.mol_llama.weights import MOLECULESTM_PREFIX, POSITION_IDS, UNIMOL_PREFIX, key_group


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory, tiny_mol_llama: Path) -> dict[str, Path]:
    tiny = tiny_mol_llama
    out = tmp_path_factory.mktemp("graft") / "flex-mol-llama"
    judge = tiny_judge(tmp_path_factory)
    assemble_mol_llama(tiny / "sources" / "mol-llama", judge, out)
    return {"tiny": tiny, "src": tiny / "sources" / "mol-llama", "judge": judge, "out": out}


def test_each_group_comes_from_its_source(parts: dict[str, Path]) -> None:
    out = load_file(parts["out"] / "model.safetensors")
    published = load_file(parts["src"] / "model.safetensors")
    judge = load_file(parts["judge"] / "model.safetensors")
    unimol = torch.load(parts["src"] / "mol_pre_no_h_220816.pt", weights_only=False)["model"]
    stm = torch.load(parts["src"] / "molecule_model.pth", weights_only=True)
    groups = {g: [k for k in out if key_group(k) == g] for g in "ABC"}
    assert set(groups["A"]) == set(published)  # LoRA, blending, Q-Former, llm_proj
    for k in groups["A"]:
        assert torch.equal(out[k], published[k]), k
    for k in groups["B"]:  # the encoders, from their own files
        if k == POSITION_IDS:
            assert out[k].tolist() == [list(range(out[k].shape[1]))]
        elif k.startswith(UNIMOL_PREFIX):
            assert torch.equal(out[k], unimol[k.removeprefix(UNIMOL_PREFIX)]), k
        else:
            assert torch.equal(out[k], stm[k.removeprefix(MOLECULESTM_PREFIX)]), k
    embed = judge["model.embed_tokens.weight"]
    for k in groups["C"]:  # the judge's own weights under PEFT's names
        if k not in (EMBED_KEY, LM_HEAD_KEY):
            assert torch.equal(
                out[k], judge[k.removeprefix(LLM_PREFIX).replace(".base_layer.", ".")]
            )
    n = embed.shape[0]
    for k in (EMBED_KEY, LM_HEAD_KEY):  # tied judge: lm_head is a copy of its embeddings
        assert out[k].shape[0] == n + 2
        assert torch.equal(out[k][:n], embed), k
        # [PAD] and <mol>: the published folder has no such rows, so the mean of the judge's.
        torch.testing.assert_close(out[k][n:], embed.mean(0).expand(2, -1))


def test_the_graft_changes_only_the_llm(parts: dict[str, Path]) -> None:
    plain = load_file(parts["tiny"] / "model.safetensors")  # Mol-LLaMA on its own base LLM
    flex = load_file(parts["out"] / "model.safetensors")
    assert set(plain) == set(flex)
    same = {k for k in plain if torch.equal(plain[k], flex[k])}
    assert {k for k in plain if key_group(k) in "AB"} <= same
    # In the LLM only the RMSNorm gains agree: both tiny LLaMAs start them at ones.
    assert all(k.endswith("norm.weight") for k in same if key_group(k) == "C")
    assert any(key_group(k) == "C" for k in set(plain) - same)


def test_assembled_checkpoint_loads_and_is_self_describing(parts: dict[str, Path]) -> None:
    from transformers import AutoTokenizer

    from flexjudge.mol_llama import featurize_batch, tokenize_chats

    model = MolLLaMA.from_pretrained(parts["out"])
    tok = AutoTokenizer.from_pretrained(parts["out"])
    batch = tokenize_chats([mol_messages(pampa_request("Small and neutral."))], tok)
    out = model.generate(
        batch.input_ids,
        attention_mask=batch.attention_mask,
        molecules=featurize_batch(["CCO"]),
        max_new_tokens=3,
    )
    assert out.shape[1] == batch.input_ids.shape[1] + 3
    record = json.loads((parts["out"] / PROVENANCE_FILE).read_text())
    assert record["llm"] == str(parts["judge"])
    assert record["added_rows"]["source"][EMBED_KEY] == "mean of the judge's rows"
    assert record["encoders"]["encoder.graph_encoder.unimol"]["ignored"]  # pretraining heads
    assert record["tensors"] == {"A": 147, "B": 85, "C": 21}


def test_a_full_checkpoint_can_be_the_mol_llama_source(
    parts: dict[str, Path], tmp_path: Path
) -> None:
    # The tiny checkpoint holds every tensor: encoders come from it when no files are given,
    # and so do the [PAD]/<mol> rows.
    full = tmp_path / "full"
    shutil.copytree(parts["tiny"], full, ignore=shutil.ignore_patterns("sources"))
    out = assemble_mol_llama(full, parts["judge"], tmp_path / "out")
    src, got = load_file(full / "model.safetensors"), load_file(out / "model.safetensors")
    for k in got:
        if key_group(k) in "AB":
            assert torch.equal(got[k], src[k]), k
    for k in (EMBED_KEY, LM_HEAD_KEY):
        assert torch.equal(got[k][-2:], src[k][-2:])


def test_refusals(parts: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not empty"):
        assemble_mol_llama(parts["src"], parts["judge"], parts["out"])
    with pytest.raises(ModelLoadError, match="judge must be LLaMA"):
        assemble_mol_llama(parts["src"], parts["tiny"], tmp_path / "a")
    no_encoders = tmp_path / "published"
    shutil.copytree(parts["src"], no_encoders, ignore=shutil.ignore_patterns("*.pt", "*.pth"))
    with pytest.raises(ModelLoadError, match="mol_pre_no_h_220816.pt: no such encoder checkpoint"):
        assemble_mol_llama(no_encoders, parts["judge"], tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_assemble_command(parts: dict[str, Path], tmp_path: Path) -> None:
    from flexjudge.cli.mol_llama_cmd import mol_llama

    published = tmp_path / "published"
    shutil.copytree(parts["src"], published, ignore=shutil.ignore_patterns("*.pt", "*.pth"))
    out = tmp_path / "cli-out"
    args = ["assemble", "--mol-llama", str(published), "--judge", str(parts["judge"])]
    args += ["--output", str(out), "--unimol", str(parts["src"] / "mol_pre_no_h_220816.pt")]
    args += ["--moleculestm", str(parts["src"] / "molecule_model.pth"), "--dtype", "bfloat16"]
    result = CliRunner().invoke(mol_llama, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    state = load_file(out / "model.safetensors")
    assert state[EMBED_KEY].dtype == torch.bfloat16 and state[POSITION_IDS].dtype == torch.long
