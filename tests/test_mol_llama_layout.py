"""The model's state-dict layout against the published one, at full size, on the meta device."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from flexjudge.errors import ConfigError
from flexjudge.mol_llama import MolLLaMA, MolLLaMAConfig
from flexjudge.mol_llama.weights import key_group

FIXTURES = Path(__file__).parent / "fixtures" / "mol_llama"

# Llama-3.1-8B-Instruct's architecture (its config.json), resized by Mol-LLaMA to 128,258 tokens.
LLAMA_3_1_8B = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128258,
    "tie_word_embeddings": False,
}


def _manifest() -> dict[str, tuple[str, list[int]]]:
    rows = {}
    for line in (FIXTURES / "mol-llama-keys.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        group, key, shape = line.split("\t")
        rows[key] = (group, json.loads(shape))
    return rows


@pytest.fixture(scope="module")
def full_size() -> dict[str, torch.Tensor]:
    config = MolLLaMAConfig(llm_config={"text_config": LLAMA_3_1_8B})
    with torch.device("meta"):
        return dict(MolLLaMA(config).state_dict())


def test_full_size_keys_and_shapes_equal_the_manifest(full_size: dict[str, torch.Tensor]) -> None:
    manifest = _manifest()
    assert len(manifest) == 1555
    assert set(full_size) == set(manifest)
    wrong = {k: list(v.shape) for k, v in full_size.items() if list(v.shape) != manifest[k][1]}
    assert wrong == {}


def test_group_a_is_the_published_trainable_part(full_size: dict[str, torch.Tensor]) -> None:
    manifest = _manifest()
    assert {k: key_group(k) for k in manifest} == {k: g for k, (g, _) in manifest.items()}
    group_a = [k for k in full_size if key_group(k) == "A"]
    assert len(group_a) == 969
    assert sum(full_size[k].numel() for k in group_a) == 171_896_920


def test_published_config_reads_with_full_size_defaults(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "published_config.json", tmp_path / "config.json")
    config = MolLLaMAConfig.from_pretrained(tmp_path)
    assert config.qformer_config.hidden_size == 768
    assert config.qformer_config.num_query_tokens == 8
    assert config.graph_encoder_config.unimol_config.encoder_layers == 15
    assert config.graph_encoder_config.moleculestm_config.emb_dim == 300
    assert config.llm_config.lora_config.r == 8 and config.llm_config.lora_config.lora_alpha == 32
    assert config.llm_config.text_config is None
    # Without the LLM's architecture the folder must be assembled, not instantiated.
    with pytest.raises(ConfigError, match="assemble_mol_llama"):
        MolLLaMA(config)
