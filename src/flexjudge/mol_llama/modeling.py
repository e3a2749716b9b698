"""The Mol-LLaMA-compatible model: graph encoders -> blending -> Q-Former -> ``llm_proj`` ->
``<mol>`` slots of a LLaMA with PEFT LoRA.

State-dict names and shapes are those of Mol-LLaMA (DongkiKim95/Mol-LLaMA ``models/``), so its
published trainable weights, Uni-Mol's and MoleculeSTM's checkpoints load as they are
(:mod:`flexjudge.mol_llama.weights`); ``tests/fixtures/mol_llama/mol-llama-keys.tsv`` pins all
1,555 keys. A saved folder is self-contained (the LLaMA architecture is in
``llm_config.text_config``) and loads through ``from_pretrained``, strictly: a missing,
unexpected or mis-shaped tensor is a :class:`~flexjudge.errors.ModelLoadError`.

Molecules enter the prompt as ``<mol>`` tokens, 8 (``num_query_tokens``) per molecule; their
input embeddings are replaced, in order, by the projected Q-Former outputs of the molecules of
the :class:`~flexjudge.mol_llama.featurize.MolBatch`.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from peft import LoraConfig, TaskType, get_peft_model
from torch import nn
from transformers import GenerationConfig, LlamaForCausalLM, PreTrainedModel

from flexjudge.errors import ConfigError, InputError, ModelLoadError
from flexjudge.mol_llama.blending import BlendingModule
from flexjudge.mol_llama.config import MolLLaMAConfig
from flexjudge.mol_llama.featurize import MolBatch
from flexjudge.mol_llama.gin import MoleculeSTM
from flexjudge.mol_llama.qformer import QformerModel
from flexjudge.mol_llama.unimol import UniMolEncoder

__all__ = ["MolLLaMA", "MolLLaMAEncoder", "peft_lora_config"]


class MolLLaMAEncoder(nn.Module):
    """Both graph encoders (frozen, always in eval mode: the GIN has BatchNorm), their
    LayerNorms, the blending module, the Q-Former and its query tokens."""

    def __init__(self, config: MolLLaMAConfig) -> None:
        super().__init__()
        ge = config.graph_encoder_config
        if sorted(ge.encoder_types) != ["moleculestm", "unimol"]:
            raise ConfigError(
                f"graph_encoder_config.encoder_types must be unimol and moleculestm, "
                f"got {ge.encoder_types!r}"
            )
        u, m = ge.unimol_config, ge.moleculestm_config
        builders = {
            "unimol": lambda: UniMolEncoder(
                u.encoder_layers,
                u.embed_dim,
                u.ffn_embed_dim,
                u.attention_heads,
                u.num_kernels,
                u.activation_fn,
            ),
            "moleculestm": lambda: MoleculeSTM(m.num_layer, m.emb_dim),
        }
        self.encoder_types = list(ge.encoder_types)
        self.graph_encoder = nn.ModuleDict({k: builders[k]() for k in self.encoder_types})
        dims: dict[str, int] = {k: enc.num_features for k, enc in self.graph_encoder.items()}  # type: ignore[misc]
        self.ln_graph = nn.ModuleDict({k: nn.LayerNorm(d) for k, d in dims.items()})
        hidden = max(dims.values())
        bm, qc = config.blending_module_config, config.qformer_config
        self.blending_module = BlendingModule(
            hidden, bm.num_heads, bm.num_layers, dims, bm.mlp_ratio
        )
        self.Qformer = QformerModel(qc, hidden)
        self.query_tokens = nn.Parameter(torch.zeros(1, qc.num_query_tokens, qc.hidden_size))
        self.graph_encoder.requires_grad_(False)

    def train(self, mode: bool = True) -> MolLLaMAEncoder:
        super().train(mode)
        self.graph_encoder.eval()  # frozen encoders never switch to batch statistics
        return self

    def graph_forward(self, molecules: MolBatch) -> torch.Tensor:
        """Query outputs [B, num_query_tokens, qformer hidden] for a batch of molecules."""
        inputs = {"unimol": molecules.unimol, "moleculestm": molecules.moleculestm}
        feats, masks = {}, {}
        for kind in self.encoder_types:
            feat, mask = self.graph_encoder[kind](**inputs[kind])
            feats[kind] = self.ln_graph[kind](feat.to(self.query_tokens.dtype))
            masks[kind] = mask
        blended, mask = self.blending_module(feats, masks)
        queries = self.query_tokens.expand(blended.shape[0], -1, -1)
        return self.Qformer(queries, blended, mask)  # type: ignore[no-any-return]


def peft_lora_config(config: MolLLaMAConfig) -> LoraConfig:
    """The PEFT config Mol-LLaMA wraps its LLM with (and the graft wraps the judge with)."""
    lora = config.llm_config.lora_config
    return LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        inference_mode=False,
        r=lora.r,
        lora_alpha=lora.lora_alpha,
        lora_dropout=lora.lora_dropout,
        target_modules=list(lora.target_modules),
    )


class MolLLaMA(PreTrainedModel):
    """Mol-LLaMA (or Flex-Mol-LLaMA after the graft). Keys: ``encoder.*``, ``llm.*`` (a PEFT
    ``PeftModelForCausalLM`` over ``LlamaForCausalLM``) and ``llm_proj.*``."""

    config_class = MolLLaMAConfig
    base_model_prefix = "mllm"
    main_input_name = "input_ids"
    _supports_sdpa = True
    _supports_flash_attn = True
    _no_split_modules = ["LlamaDecoderLayer"]  # noqa: RUF012 (declared so on PreTrainedModel)

    def __init__(self, config: MolLLaMAConfig) -> None:
        super().__init__(config)
        text = config.llm_config.text_config
        if text is None:
            raise ConfigError(
                "this Mol-LLaMA config names its LLM only by hub id (llm_config.llm_model = "
                f"{config.llm_config.llm_model!r}), as the published folder does; build a "
                "self-contained checkpoint with flexjudge.mol_llama.assemble_mol_llama first"
            )
        self.encoder = MolLLaMAEncoder(config)
        self.llm = get_peft_model(LlamaForCausalLM(text), peft_lora_config(config))
        self.llm_proj = nn.Linear(config.qformer_config.hidden_size, text.hidden_size)
        self.generation_config = GenerationConfig(
            bos_token_id=text.bos_token_id,
            eos_token_id=text.eos_token_id,
            pad_token_id=config.pad_token_id,
        )
        self.post_init()

    # Random init only matters for fresh builds (tests); loading overwrites every tensor.
    def _init_weights(self, module: nn.Module) -> None:
        return None

    @classmethod
    def can_generate(cls) -> bool:
        return True

    def get_input_embeddings(self) -> nn.Module:
        return self.llm.get_input_embeddings()  # type: ignore[no-any-return]

    def train(self, mode: bool = True) -> MolLLaMA:
        super().train(mode)
        self.encoder.train(mode)
        return self

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls, pretrained_model_name_or_path: str | os.PathLike[str], *args: Any, **kwargs: Any
    ) -> Any:
        """transformers' loading, then strict: any missing, unexpected or mis-shaped tensor is
        a ``ModelLoadError`` listing them. The folder's generation config is read too."""
        wants_info = kwargs.pop("output_loading_info", False)
        loaded: Any = super().from_pretrained(
            pretrained_model_name_or_path, *args, output_loading_info=True, **kwargs
        )
        model, info = loaded
        problems = {
            k: sorted(info.get(k) or [])
            for k in ("missing_keys", "unexpected_keys", "mismatched_keys")
            if info.get(k)
        }
        if problems:
            detail = "; ".join(
                f"{k}: {len(v)} ({', '.join(map(str, v[:4]))}…)" for k, v in problems.items()
            )
            raise ModelLoadError(
                f"{pretrained_model_name_or_path}: not a complete Mol-LLaMA checkpoint: {detail}"
            )
        path = os.path.join(str(pretrained_model_name_or_path), "generation_config.json")
        if os.path.isfile(path):
            model.generation_config = GenerationConfig.from_pretrained(
                str(pretrained_model_name_or_path)
            )
        return (model, info) if wants_info else model

    # -- forward and generate -------------------------------------------------------------------
    def embed(self, input_ids: torch.Tensor, molecules: MolBatch | None) -> torch.Tensor:
        """Input embeddings with every ``<mol>`` slot replaced, in order, by the projected
        query outputs of ``molecules`` (``num_query_tokens`` slots per molecule)."""
        embeds = self.get_input_embeddings()(input_ids)
        mol_id = self.config.mol_token_id
        slots = int((input_ids == mol_id).sum()) if mol_id is not None else 0
        if molecules is None or len(molecules) == 0:
            if slots:
                raise InputError(f"the prompt has {slots} <mol> tokens but no molecules were given")
            return embeds  # type: ignore[no-any-return]
        per = self.config.qformer_config.num_query_tokens
        if slots != len(molecules) * per:
            raise InputError(
                f"the prompt has {slots} <mol> tokens but {len(molecules)} molecules need "
                f"{len(molecules) * per} ({per} each)"
            )
        queries = self.llm_proj(self.encoder.graph_forward(molecules.to(embeds.device)))
        flags = (input_ids == mol_id).unsqueeze(-1)
        return embeds.masked_scatter(flags, queries.to(embeds.dtype))  # type: ignore[no-any-return]

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        molecules: MolBatch | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> Any:
        return self.llm(
            inputs_embeds=self.embed(input_ids, molecules),
            attention_mask=attention_mask,
            labels=labels,
            **kwargs,
        )

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        molecules: MolBatch | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Like a causal LM's ``generate``: returns the prompt ids followed by the new tokens.
        Greedy unless the generation config or ``kwargs`` say otherwise."""
        base: Any = self.llm.get_base_model()
        base.generation_config = self.generation_config  # the default; kwargs override it
        return base.generate(  # type: ignore[no-any-return]
            input_ids=input_ids,
            inputs_embeds=self.embed(input_ids, molecules),
            attention_mask=attention_mask,
            **kwargs,
        )
