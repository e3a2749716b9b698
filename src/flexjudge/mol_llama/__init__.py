"""A Mol-LLaMA-compatible molecular judge in flexjudge's own code (torch, transformers, PEFT,
RDKit; no torch_geometric, no Uni-Core), and the graft that makes Flex-Mol-LLaMA.

* :mod:`.config`: ``MolLLaMAConfig`` (``model_type`` ``"mol_llama"``), Mol-LLaMA's nesting.
* :mod:`.featurize`: SMILES -> OGB 2D graph and seeded RDKit conformer -> Uni-Mol inputs.
* :mod:`.gin`, :mod:`.unimol`, :mod:`.blending`, :mod:`.qformer`: the molecule path.
* :mod:`.modeling`: ``MolLLaMA``, the whole model, with ``<mol>`` splicing and ``generate``.
* :mod:`.weights`: key groups, and the encoders' own checkpoints, loaded with a strict report.
* :mod:`.graft`: ``assemble_mol_llama`` writes one self-contained checkpoint.
* :mod:`.tokens`, :mod:`.prompting`: ``<mol>`` and ``[PAD]``, and the token layout of the
  prompts :func:`flexjudge.prompts.build_chat` builds (protocols ``pampa``, ``mol_pairwise``).

Call :func:`register` once before ``AutoConfig``/``AutoModelForCausalLM.from_pretrained`` of a
saved folder.
"""

from __future__ import annotations

from flexjudge.mol_llama.config import MolLLaMAConfig
from flexjudge.mol_llama.featurize import MolBatch, featurize, featurize_batch
from flexjudge.mol_llama.graft import assemble_mol_llama
from flexjudge.mol_llama.modeling import MolLLaMA
from flexjudge.mol_llama.prompting import chat_messages, tokenize_chats

__all__ = [
    "MolBatch",
    "MolLLaMA",
    "MolLLaMAConfig",
    "assemble_mol_llama",
    "chat_messages",
    "featurize",
    "featurize_batch",
    "register",
    "tokenize_chats",
]


def register() -> None:
    """Make ``AutoConfig`` and ``AutoModelForCausalLM`` know ``model_type`` ``"mol_llama"``.
    Idempotent."""
    from transformers import AutoConfig, AutoModelForCausalLM

    AutoConfig.register(MolLLaMAConfig.model_type, MolLLaMAConfig, exist_ok=True)
    AutoModelForCausalLM.register(MolLLaMAConfig, MolLLaMA, exist_ok=True)
