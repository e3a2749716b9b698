"""Reading the weights a Mol-LLaMA model is made of, each from its own file, with a report of
missing and unexpected tensors that fails on any mismatch.

Key groups (as in ``tests/fixtures/mol_llama/mol-llama-keys.tsv``):

* **A**: what the published ``DongkiKim/Mol-Llama-3.1-8B-Instruct`` stores (its trainable parts,
  inferred from Mol-LLaMA's saving code and its "0.2B" size): ``encoder.ln_graph``, the blending
  module, the query tokens, the Q-Former, the LoRA ``lora_A``/``lora_B`` tensors and
  ``llm_proj``.
* **B**: the graph encoders, from Uni-Mol's ``mol_pre_no_h_220816.pt`` and MoleculeSTM's
  ``molecule_model.pth``, plus the Q-Former's ``position_ids`` buffer (a constant).
* **C**: the LLM's own weights (``base_layer``, norms, ``embed_tokens``, ``lm_head``): the base
  LLaMA in Mol-LLaMA, the judge after the graft.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from flexjudge.errors import ModelLoadError

__all__ = [
    "UNIMOL_IGNORED_PREFIXES",
    "LoadReport",
    "check_state_dict",
    "key_group",
    "load_moleculestm_checkpoint",
    "load_unimol_checkpoint",
    "read_folder_tensors",
    "read_moleculestm_checkpoint",
    "read_unimol_checkpoint",
]

UNIMOL_PREFIX = "encoder.graph_encoder.unimol."
MOLECULESTM_PREFIX = "encoder.graph_encoder.moleculestm."
POSITION_IDS = "encoder.Qformer.bert.embeddings.position_ids"

#: Uni-Mol pretraining heads in ``mol_pre_no_h_220816.pt`` that the encoder does not use (masked
#: token, coordinate and distance heads, and the delta-pair norm); Mol-LLaMA loads the file
#: with ``strict=False`` for the same reason. Any other unexpected tensor is an error here.
UNIMOL_IGNORED_PREFIXES = (
    "lm_head.",
    "pair2coord_proj.",
    "dist_head.",
    "encoder.final_head_layer_norm.",
    "classification_heads.",
)


def key_group(key: str) -> str:
    """``"A"``, ``"B"`` or ``"C"`` for a key of the model's state dict (see module docs)."""
    if key.startswith("encoder.graph_encoder.") or key == POSITION_IDS:
        return "B"
    if key.startswith("llm."):
        return "A" if ".lora_A." in key or ".lora_B." in key else "C"
    return "A"


@dataclass
class LoadReport:
    """What a load took, ignored or found wrong, for one source file or folder."""

    source: str
    loaded: int = 0
    ignored: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def raise_if_bad(self, what: str) -> None:
        if self.ok:
            return
        parts = []
        for name in ("missing", "unexpected", "mismatched"):
            keys: list[str] = getattr(self, name)
            if keys:
                shown = ", ".join(keys[:5]) + (f", … ({len(keys)} in all)" if len(keys) > 5 else "")
                parts.append(f"{name}: {shown}")
        raise ModelLoadError(f"{self.source} does not fit the {what}: " + "; ".join(parts))


def check_state_dict(
    expected: Mapping[str, torch.Tensor],
    given: Mapping[str, torch.Tensor],
    source: str,
    *,
    ignore_prefixes: Iterable[str] = (),
) -> LoadReport:
    """Compare names and shapes of ``given`` against ``expected``."""
    ignore = tuple(ignore_prefixes)
    report = LoadReport(source)
    for key, tensor in given.items():
        if key not in expected:
            (report.ignored if key.startswith(ignore) else report.unexpected).append(key)
        elif tuple(tensor.shape) != tuple(expected[key].shape):
            report.mismatched.append(
                f"{key} {list(tensor.shape)} (expected {list(expected[key].shape)})"
            )
        else:
            report.loaded += 1
    report.missing = [k for k in expected if k not in given]
    return report


def _torch_load(path: Path) -> object:
    """``torch.load`` without arbitrary unpickling. Uni-Core checkpoints carry their training
    ``args`` as an ``argparse.Namespace``, the only non-tensor class allowed here."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such checkpoint file")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(
            f"{path}: cannot read it as a weights-only torch checkpoint ({exc}). Re-save just "
            "its tensors (torch.save(state_dict, path)) where it was made."
        ) from exc


def _tensors(obj: object, path: Path) -> dict[str, torch.Tensor]:
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelLoadError(f"{path}: expected a mapping of tensor names to tensors")
    return dict(obj)


def read_unimol_checkpoint(
    path: str | Path, expected: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """The encoder tensors of a Uni-Mol checkpoint (``{"model": state_dict, "args": …}``, as
    ``mol_pre_no_h_220816.pt``), checked against ``expected`` (names and shapes). The
    pretraining heads are reported as ignored; anything else missing, unexpected or
    mis-shaped raises ``ModelLoadError``."""
    path = Path(path)
    ckpt = _torch_load(path)
    if not isinstance(ckpt, Mapping) or "model" not in ckpt:
        raise ModelLoadError(f"{path}: not a Uni-Mol checkpoint (it has no 'model' entry)")
    state = _tensors(ckpt["model"], path)
    report = check_state_dict(expected, state, str(path), ignore_prefixes=UNIMOL_IGNORED_PREFIXES)
    report.raise_if_bad("Uni-Mol encoder")
    return {k: v for k, v in state.items() if k in expected}, report


def read_moleculestm_checkpoint(
    path: str | Path, expected: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """The tensors of MoleculeSTM's ``molecule_model.pth`` (a plain state dict), checked
    strictly against ``expected``, as Mol-LLaMA loads it."""
    path = Path(path)
    state = _tensors(_torch_load(path), path)
    report = check_state_dict(expected, state, str(path))
    report.raise_if_bad("MoleculeSTM encoder")
    return state, report


def load_unimol_checkpoint(module: torch.nn.Module, path: str | Path) -> LoadReport:
    """:func:`read_unimol_checkpoint` into ``module`` (a ``UniMolEncoder``)."""
    state, report = read_unimol_checkpoint(path, module.state_dict())
    module.load_state_dict(state)
    return report


def load_moleculestm_checkpoint(module: torch.nn.Module, path: str | Path) -> LoadReport:
    """:func:`read_moleculestm_checkpoint` into ``module`` (a ``MoleculeSTM``)."""
    state, report = read_moleculestm_checkpoint(path, module.state_dict())
    module.load_state_dict(state)
    return report


def read_folder_tensors(folder: str | Path) -> dict[str, torch.Tensor]:
    """Every tensor of a transformers-format weights folder: ``model.safetensors``, sharded
    safetensors with an index, or ``pytorch_model.bin`` (read weights-only)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    for index_name, single in (
        ("model.safetensors.index.json", "model.safetensors"),
        ("pytorch_model.bin.index.json", "pytorch_model.bin"),
    ):
        index = folder / index_name
        if index.is_file():
            shards = sorted(
                set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
            )
            files = [folder / s for s in shards]
        elif (folder / single).is_file():
            files = [folder / single]
        else:
            continue
        out: dict[str, torch.Tensor] = {}
        for f in files:
            if f.suffix == ".safetensors":
                out.update(load_file(str(f)))
            else:
                out.update(_tensors(_torch_load(f), f))
        return out
    raise ModelLoadError(
        f"{folder}: no weights (model.safetensors, its sharded index, or pytorch_model.bin)"
    )
