"""Configuration of a Mol-LLaMA-compatible model (``model_type`` ``"mol_llama"``).

The nesting and field names follow Mol-LLaMA's own ``MolLLaMAConfig``
(DongkiKim95/Mol-LLaMA ``utils/configuration_mol_llama.py``), so the ``config.json`` of the
published ``DongkiKim/Mol-Llama-3.1-8B-Instruct`` reads as it is. That file records no sizes: the
original code hard-wires them (Uni-Mol 15x512, GIN 5x300, SciBERT 12x768, LLaMA-3.1-8B). Here
each size is a field whose default is that full size, so a tiny model differs only in its
``config.json``. Two additions of ours:

* ``llm_config.text_config``: the LLaMA architecture itself (a ``LlamaConfig``), which makes a
  saved folder self-contained. It is ``None`` in the published config, which names a hub id
  (``llm_model``) instead; such a folder is assembled (:mod:`flexjudge.mol_llama.graft`), not
  loaded directly.
* ``mol_token_id`` / ``pad_token_id``: the ids of ``<mol>`` and ``[PAD]`` in the tokenizer.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, ClassVar

from transformers import AutoConfig, PretrainedConfig
from transformers.configuration_utils import SubConfigSpec

__all__ = [
    "LORA_TARGET_MODULES",
    "BlendingModuleConfig",
    "GraphEncoderConfig",
    "LLMConfig",
    "MolLLaMAConfig",
    "MolLLaMALoraConfig",
    "MoleculeSTMConfig",
    "QformerConfig",
    "UniMolConfig",
]

#: The projections Mol-LLaMA puts LoRA on (``models/mol_llama.py``), in its order.
LORA_TARGET_MODULES = ("k_proj", "v_proj", "q_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class MolLLaMALoraConfig(PretrainedConfig):
    """PEFT LoRA settings of the LLM (Mol-LLaMA: r=8, alpha=32, dropout 0.1)."""

    model_type = "mol_llama_lora"
    base_config_key = "lora_config"

    r: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: list(LORA_TARGET_MODULES))


class LLMConfig(PretrainedConfig):
    """The language model: a hub id or path (informational), LoRA, and the architecture."""

    model_type = "mol_llama_llm"
    base_config_key = "llm_config"
    sub_configs_defaults: ClassVar[dict[str, Any]] = {
        "lora_config": MolLLaMALoraConfig,
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="llama", optional=True),
    }

    llm_model: str = "meta-llama/Llama-3.1-8B-Instruct"
    lora_config: Any = None  # a dict in, a sub-config after __post_init__
    text_config: Any = None  # a dict in, a sub-config after __post_init__


class QformerConfig(PretrainedConfig):
    """The BLIP-2-style Q-Former (initialised from SciBERT: 12 layers of 768, 12 heads)."""

    model_type = "mol_llama_qformer"
    base_config_key = "qformer_config"

    bert_name: str = "allenai/scibert_scivocab_uncased"
    num_query_tokens: int = 8
    cross_attention_freq: int = 2
    embed_dim: int = 256
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512


class BlendingModuleConfig(PretrainedConfig):
    """The 2D/3D blending module: ``num_layers`` blocks of four attention blocks."""

    model_type = "mol_llama_blending_module"
    base_config_key = "blending_module_config"

    num_layers: int = 4
    num_heads: int = 8
    mlp_ratio: int = 4


class UniMolConfig(PretrainedConfig):
    """Uni-Mol v1 (no-H): 15 pre-LN layers of 512, 64 heads, 128 Gaussian kernels."""

    model_type = "mol_llama_unimol"
    base_config_key = "unimol_config"

    repo_id: str = "dptech/Uni-Mol-Models"
    weights_filename: str = "mol_pre_no_h_220816.pt"
    dictionary_filename: str = "mol.dict.txt"
    encoder_layers: int = 15
    embed_dim: int = 512
    ffn_embed_dim: int = 2048
    attention_heads: int = 64
    num_kernels: int = 128
    max_atoms: int = 512
    activation_fn: str = "gelu"


class MoleculeSTMConfig(PretrainedConfig):
    """MoleculeSTM's GIN: 5 layers of 300, mean pooling, last-layer readout."""

    model_type = "mol_llama_molecule_stm"
    base_config_key = "moleculestm_config"

    repo_id: str = "chao1224/MoleculeSTM"
    filename: str = "demo/demo_checkpoints_Graph/molecule_model.pth"
    num_layer: int = 5
    emb_dim: int = 300


class GraphEncoderConfig(PretrainedConfig):
    """The two frozen graph encoders (3D Uni-Mol, 2D MoleculeSTM)."""

    model_type = "mol_llama_graph_encoder"
    base_config_key = "graph_encoder_config"
    sub_configs_defaults: ClassVar[dict[str, Any]] = {
        "unimol_config": UniMolConfig,
        "moleculestm_config": MoleculeSTMConfig,
    }

    unimol_config: Any = None  # a dict in, a sub-config after __post_init__
    moleculestm_config: Any = None  # a dict in, a sub-config after __post_init__
    encoder_types: list[str] = field(default_factory=lambda: ["unimol", "moleculestm"])


class MolLLaMAConfig(PretrainedConfig):
    """The whole model. ``MolLLaMAConfig()`` is the full-size published layout."""

    model_type = "mol_llama"
    sub_configs_defaults: ClassVar[dict[str, Any]] = {
        "qformer_config": QformerConfig,
        "blending_module_config": BlendingModuleConfig,
        "graph_encoder_config": GraphEncoderConfig,
        "llm_config": LLMConfig,
    }

    qformer_config: Any = None  # a dict in, a sub-config after __post_init__
    blending_module_config: Any = None  # a dict in, a sub-config after __post_init__
    graph_encoder_config: Any = None  # a dict in, a sub-config after __post_init__
    llm_config: Any = None  # a dict in, a sub-config after __post_init__
    mol_token_id: int | None = None
    pad_token_id: int | None = None

    def get_text_config(self, decoder: bool | None = None, encoder: bool | None = None) -> Any:
        """The LLaMA config when the architecture is recorded (generation reads it)."""
        text = getattr(self.llm_config, "text_config", None)
        return text if text is not None else self
