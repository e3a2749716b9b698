"""A tiny random Mol-LLaMA, laid out as the real one is, for offline tests.

``build_tiny_mol_llama(out)`` (the same as ``build_tiny_model(out, arch="mol_llama")`` and
``flexjudge tiny-model OUT --arch mol_llama``) writes:

* ``out/``: a self-contained checkpoint (``MolLLaMA.from_pretrained`` loads it), assembled from
  the sources below by the library's own :func:`~flexjudge.mol_llama.assemble_mol_llama`, with
  the base LLM in the judge's place (so it is plain Mol-LLaMA);
* ``out/sources/mol-llama/``: the published ``DongkiKim/Mol-Llama-3.1-8B-Instruct`` layout:
  ``config.json`` without the LLM's architecture (sizes are tiny, so they are written),
  ``model.safetensors`` with the trainable tensors only (group A) and the LLaMA-3 tokenizer with
  ``[PAD]`` and ``<mol>`` added; beside them the encoders' checkpoints in their own formats:
  ``mol_pre_no_h_220816.pt`` (Uni-Core: ``{"model": …, "args": Namespace}``, pretraining heads
  included) and ``molecule_model.pth`` (a plain state dict);
* ``out/sources/llm/``: the tiny LLaMA-3 (``build_tiny_model(arch="llama3")``) standing in for
  Llama-3.1-8B-Instruct.

Same key names as the full model at small sizes: Uni-Mol 2 layers of 32 (4 heads, 8 kernels),
GIN 2 layers of 16, blending 1 block of 32, Q-Former 2 layers of 32 (cross-attention on layer
0, 8 queries), LLaMA 2 layers of 128 (``hidden_size``). All tensors are random, LoRA ``B``
included (PEFT would start it at zero), so every part changes the output. The provenance record
is ``out/flexjudge_tiny.json``, as for every tiny checkpoint.
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["TINY_SIZES", "build_mol_llama_folder", "build_tiny_mol_llama"]

#: The sub-config sizes of the tiny model.
TINY_SIZES: dict[str, dict[str, Any]] = {
    "qformer_config": {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "max_position_embeddings": 32,
    },
    "blending_module_config": {"num_layers": 1, "num_heads": 4},
    "graph_encoder_config": {
        "unimol_config": {
            "encoder_layers": 2,
            "embed_dim": 32,
            "ffn_embed_dim": 64,
            "attention_heads": 4,
            "num_kernels": 8,
        },
        "moleculestm_config": {"num_layer": 2, "emb_dim": 16},
    },
}


def _tokenizer() -> Any:
    from tokenizers import AddedToken

    from flexjudge.mol_llama.tokens import MOL_TOKEN, PAD_TOKEN
    from flexjudge.testing.tiny.vocab import llama3_tokenizer

    tok = llama3_tokenizer("small")
    # Mol-LLaMA's stage2.py: [PAD] as the pad token, then <mol> as a special token.
    tok.add_special_tokens({"pad_token": PAD_TOKEN})
    tok.add_tokens([AddedToken(MOL_TOKEN, special=True, normalized=False)], special_tokens=True)
    return tok


def _randomize(model: nn.Module, gen: torch.Generator) -> None:
    """Deterministic random values for the molecule path and LoRA, of sensible scale (unit
    LayerNorm gains, positive BatchNorm variances, Gaussian widths as Uni-Mol draws them)."""

    def normal(t: torch.Tensor, std: float, mean: float = 0.0) -> None:
        t.copy_(torch.randn(t.shape, generator=gen) * std + mean)

    with torch.no_grad():
        for name, module in model.named_modules():
            if name.startswith("llm"):
                continue
            for pname, p in module.named_parameters(recurse=False):
                if isinstance(module, nn.LayerNorm | nn.BatchNorm1d):
                    normal(p, 0.1, 1.0 if pname == "weight" else 0.0)
                elif name.endswith("gbf.means") or name.endswith("gbf.stds"):
                    p.copy_(torch.rand(p.shape, generator=gen) * 2.5 + 0.5)
                elif name.endswith("gbf.mul"):
                    normal(p, 0.1, 1.0)
                elif p.dim() >= 2:
                    normal(p, 1.0 / math.sqrt(p.shape[-1]))
                else:
                    normal(p, 0.02)
            if isinstance(module, nn.BatchNorm1d):
                stats: Any = module
                normal(stats.running_mean, 0.1)
                stats.running_var.copy_(torch.rand(stats.running_var.shape, generator=gen) + 0.5)
                stats.num_batches_tracked.fill_(100)
        for name, p in model.named_parameters():
            if ".lora_A." in name or ".lora_B." in name:
                normal(p, 0.05)


def _unimol_heads(
    dim: int, heads: int, vocab: int, gen: torch.Generator
) -> dict[str, torch.Tensor]:
    """Uni-Mol's pretraining heads as ``mol_pre_no_h_220816.pt`` carries them (not used)."""
    shapes = {
        "lm_head.dense.weight": (dim, dim),
        "lm_head.dense.bias": (dim,),
        "lm_head.layer_norm.weight": (dim,),
        "lm_head.layer_norm.bias": (dim,),
        "lm_head.weight": (vocab, dim),
        "lm_head.bias": (vocab,),
        "pair2coord_proj.linear1.weight": (heads, heads),
        "pair2coord_proj.linear1.bias": (heads,),
        "pair2coord_proj.linear2.weight": (1, heads),
        "pair2coord_proj.linear2.bias": (1,),
        "dist_head.dense.weight": (heads, heads),
        "dist_head.dense.bias": (heads,),
        "dist_head.layer_norm.weight": (heads,),
        "dist_head.layer_norm.bias": (heads,),
        "dist_head.out_proj.weight": (1, heads),
        "dist_head.out_proj.bias": (1,),
        "encoder.final_head_layer_norm.weight": (heads,),
        "encoder.final_head_layer_norm.bias": (heads,),
    }
    return {k: torch.randn(s, generator=gen) * 0.02 for k, s in shapes.items()}


def _write_sources(
    model: Any, config: Any, tok: Any, mol_dir: Path, gen: torch.Generator
) -> dict[str, int]:
    from safetensors.torch import save_file

    from flexjudge.mol_llama.weights import MOLECULESTM_PREFIX, UNIMOL_PREFIX, key_group

    state = model.state_dict()
    published = {k: v.contiguous() for k, v in state.items() if key_group(k) == "A"}
    save_file(published, str(mol_dir / "model.safetensors"), metadata={"format": "pt"})
    (mol_dir / "model.safetensors").chmod(0o644)
    config.llm_config.text_config = None  # the published config names its LLM by id only
    config.mol_token_id = config.pad_token_id = None
    config.architectures = ["MolLLaMA"]
    config.save_pretrained(mol_dir)
    tok.save_pretrained(mol_dir)
    u = config.graph_encoder_config.unimol_config
    unimol = {
        k.removeprefix(UNIMOL_PREFIX): v for k, v in state.items() if k.startswith(UNIMOL_PREFIX)
    }
    unimol.update(_unimol_heads(u.embed_dim, u.attention_heads, 31, gen))
    args = argparse.Namespace(arch="unimol_base", encoder_layers=u.encoder_layers, seed=1)
    torch.save({"model": unimol, "args": args}, mol_dir / u.weights_filename)
    stm = {
        k.removeprefix(MOLECULESTM_PREFIX): v
        for k, v in state.items()
        if k.startswith(MOLECULESTM_PREFIX)
    }
    torch.save(stm, mol_dir / "molecule_model.pth")
    return {g: sum(v.numel() for k, v in state.items() if key_group(k) == g) for g in "AB"}


def build_tiny_mol_llama(out_dir: str | Path, seed: int = 0, hidden_size: int = 128) -> Path:
    """Write the tiny Mol-LLaMA (see module docs) to ``out_dir`` and return ``out_dir``: the
    same as ``build_tiny_model(out_dir, arch="mol_llama")`` and ``flexjudge tiny-model DIR
    --arch mol_llama``. ``hidden_size`` is the LLaMA's width."""
    from flexjudge.testing.tiny import build_tiny_model

    return build_tiny_model(out_dir, arch="mol_llama", seed=seed, hidden_size=hidden_size)


def build_mol_llama_folder(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """The builder behind ``build_tiny_model(arch="mol_llama")``: writes ``out`` (module docs)
    and returns the facts for its provenance record. The small vocabulary only: Mol-LLaMA
    extends the LLaMA-3 tokenizer, and the tiny one is built on the small BPE."""
    from flexjudge.errors import ConfigError
    from flexjudge.mol_llama import MolLLaMA, MolLLaMAConfig, assemble_mol_llama
    from flexjudge.mol_llama.graft import _text_config
    from flexjudge.testing.tiny import build_tiny_model

    if vocab != "small":
        raise ConfigError(f"arch mol_llama takes vocab small only, got {vocab!r}")
    mol_dir, llm_dir = out / "sources" / "mol-llama", out / "sources" / "llm"
    mol_dir.mkdir(parents=True, exist_ok=True)
    build_tiny_model(llm_dir, arch="llama3", seed=seed, hidden_size=hidden_size)
    tok = _tokenizer()
    ids = {
        "pad": tok.convert_tokens_to_ids("[PAD]"),
        "mol": tok.convert_tokens_to_ids("<mol>"),
        "size": len(tok),
    }
    sizes: dict[str, Any] = TINY_SIZES
    config = MolLLaMAConfig(
        **sizes,
        llm_config={"llm_model": "../llm", "text_config": _text_config(llm_dir, ids).to_dict()},
        mol_token_id=ids["mol"],
        pad_token_id=ids["pad"],
    )
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MolLLaMA(config)
    _randomize(model, gen)
    counts = _write_sources(model, config, tok, mol_dir, gen)
    staging = out / ".assembled"
    assemble_mol_llama(mol_dir, llm_dir, staging)
    for item in staging.iterdir():
        shutil.move(str(item), out / item.name)
    staging.rmdir()
    return {
        "sizes": TINY_SIZES,
        "num_parameters_group_A": counts["A"],
        "num_parameters_group_B": counts["B"],
        "sources": {"mol_llama": "sources/mol-llama", "llm": "sources/llm"},
    }
