"""Molecules: parse (SMILES, MOL block, .mol/.sdf/.smi file), canonicalise, describe, depict.

A molecule reaches a vision-language judge in one of three representations
(:data:`MoleculeMode`): a 2D depiction ("image"), a text block with the canonical SMILES,
formula and a few descriptors ("text"), or both (the default: the image shows the
structure, the text pins down what the picture cannot, e.g. exact formula and stereo
SMILES). :func:`render_molecule` makes whichever the mode asks for.

Rules
-----
* A ``str`` is a MOL block when it spans several lines, a file path when it ends in a molecule
  file suffix (``.mol .sdf .sd .mdl .smi .smiles``), and a SMILES string otherwise (SMILES use
  ``/`` and ``\\`` for bond stereo, so separators cannot mark paths). An ``os.PathLike`` is
  always a path. An SDF must hold exactly one molecule; a ``.smi`` file's first line is read.
* Canonical SMILES is RDKit's (``Chem.MolToSmiles``: canonical, isomeric). Explicit hydrogens
  of a MOL block are removed, as RDKit does by default.
* Every failure is a :class:`~flexjudge.errors.MediaError` naming the SMILES or file and
  RDKit's reason (captured from its error log, not printed): an unclosed ring, an unknown
  element, a valence violation, an unreadable MOL block.

Extension point: molecule encoders (Flex-Mol-LLaMA)
---------------------------------------------------
A judge that *reads* molecules natively, as Flex-Mol-LLaMA does (paper.md §2.2 and §5;
official-code.md §4.1 and §6 item 7), implements :class:`MoleculeEncoder`. Mol-LLaMA encodes
each molecule with a 2D graph encoder (MoleculeSTM) and a 3D conformer encoder (Uni-Mol),
blends them, and compresses them with a Q-Former into 8 query embeddings that a linear
``llm_proj`` maps into Llama-3.1-8B's embedding space; the prompt holds 8 ``<mol>`` tokens
whose input embeddings are overwritten with those 8 vectors. Flex-Mol-LLaMA is that model
with its LLM base weights replaced by a text-only Flex-Judge Llama-3.1-8B (every
shape-matching tensor except ``embed_tokens`` and ``lora_*``; ``embed_tokens`` from the
judge except Mol-LLaMA's last two rows, ``[PAD]`` and ``<mol>``). Plugging it in takes:

1. a Flex-Judge Llama-3.1-8B checkpoint trained on the text seed with Llama's chat template
   (the official code ships no launcher for it), and the grafting step above;
2. a ``MoleculeEncoder`` wrapping Mol-LLaMA's encoders, blending module, Q-Former and
   ``llm_proj`` (extra dependencies: torch_geometric, torch_scatter, unicore; Uni-Mol needs 3D
   coordinates, which :func:`embed_3d` provides from RDKit ETKDG when a file has none);
3. an engine that renders the prompt with ``placeholder_text(encoder)`` where the prompt
   builder puts a molecule, calls ``encode`` on the request's molecules, and generates from
   ``inputs_embeds`` in which the ``<mol>`` positions carry the encoder output, in order.

Nothing else here changes: parsing, canonical SMILES and :func:`flexjudge.media.media_digest`
keys stay the same, and "text" mode remains the fallback for judges without an encoder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from flexjudge.errors import ConfigError, MediaError
from flexjudge.media._common import existing_path, first_line, require

MoleculeMode = Literal["image", "text", "both"]
MOLECULE_MODES: tuple[str, ...] = ("image", "text", "both")
DEFAULT_MODE: MoleculeMode = "both"
#: Depiction size in pixels (width, height). 448 is the side the official evaluation
#: resized judged images to (official-code.md §3.4), so a depiction costs what an image does.
DEFAULT_DEPICTION_SIZE = (448, 448)
MOL_SUFFIXES = frozenset({".mol", ".sdf", ".sd", ".mdl"})
SMILES_SUFFIXES = frozenset({".smi", ".smiles"})
#: Largest molecule accepted (heavy atoms): beyond this it is a polymer or a mistake, and
#: depiction / 3D embedding time grows fast.
MAX_HEAVY_ATOMS = 1000


@dataclass(frozen=True, eq=False)
class Molecule:
    """A parsed, sanitised RDKit molecule and its canonical SMILES."""

    mol: Any  #: ``rdkit.Chem.Mol``
    smiles: str
    #: How the caller named it, for messages: ``SMILES 'CCO'``, ``molecule file 'x.sdf'``.
    label: str
    #: The MOL block's title line or the name after a SMILES, when given. Caller text: the
    #: prompt builder neutralises it like any other user text.
    title: str = ""


@dataclass(frozen=True)
class MoleculeDescription:
    """Canonical SMILES, formula and RDKit descriptors (Crippen logP, Ertl TPSA, Lipinski
    donor/acceptor counts)."""

    smiles: str
    formula: str
    molecular_weight: float
    logp: float
    tpsa: float
    h_bond_donors: int
    h_bond_acceptors: int
    rings: int
    aromatic_rings: int
    heavy_atoms: int
    rotatable_bonds: int


@dataclass(frozen=True, eq=False)
class MoleculeView:
    """What a prompt shows for one molecule in a given mode: ``text`` and/or ``image``."""

    name: str
    molecule: Molecule
    text: str | None
    image: Any  #: PIL image, or None in "text" mode


@runtime_checkable
class MoleculeEncoder(Protocol):
    """What a native molecule encoder implements (a Mol-LLaMA-style graph/conformer encoder +
    Q-Former + projector; see the module docstring)."""

    #: The token that marks one embedding slot in the prompt (Mol-LLaMA: ``"<mol>"``).
    placeholder_token: str
    #: Slots per molecule (Mol-LLaMA's Q-Former: 8 query tokens).
    num_query_tokens: int

    def featurize(self, molecule: Molecule) -> Any:
        """CPU-side inputs for one molecule: a 2D graph and/or a 3D conformer."""
        ...

    def encode(self, features: Sequence[Any]) -> Any:
        """A ``(len(features), num_query_tokens, hidden)`` tensor in the language model's
        input-embedding space, one row per molecule in prompt order."""
        ...


def is_molecule_file(value: str) -> bool:
    """Whether a molecule string names a file (by its suffix) rather than being SMILES."""
    text = value.strip()
    return "\n" not in text and Path(text).suffix.lower() in MOL_SUFFIXES | SMILES_SUFFIXES


def is_rdkit_mol(value: Any) -> bool:
    """Whether ``value`` is an ``rdkit.Chem.Mol`` (False without importing RDKit needlessly)."""
    if type(value).__module__.split(".")[0] != "rdkit":
        return False
    from rdkit import Chem

    return isinstance(value, Chem.Mol)


def placeholder_text(encoder: MoleculeEncoder) -> str:
    """The prompt text one molecule occupies for ``encoder`` (e.g. ``<mol>`` x 8)."""
    return encoder.placeholder_token * encoder.num_query_tokens


# -- parsing ----------------------------------------------------------------------------------


def parse_molecule(source: Any) -> Molecule:
    """A :class:`Molecule` from a SMILES string, a MOL block, a .mol/.sdf/.smi path, an RDKit
    ``Mol`` or a :class:`Molecule` (returned as is). See the module rules for dispatch."""
    if isinstance(source, Molecule):
        return source
    Chem = require("rdkit.Chem", "reading molecules")

    if isinstance(source, Chem.Mol):
        return _finish(Chem.Mol(source), "RDKit molecule", "")
    if isinstance(source, os.PathLike):
        return _from_file(existing_path(source, "molecule file"))
    if not isinstance(source, str):
        raise MediaError(
            f"unsupported molecule value of type {type(source).__name__}: pass a "
            f"SMILES string, a MOL block or a .mol/.sdf/.smi path"
        )
    text = source.strip()
    if not text:
        raise MediaError("empty molecule: pass a SMILES string, a MOL block or a file path")
    if "\n" in text:
        return _from_molblock(source, _molblock_label(source))
    if is_molecule_file(text):
        return _from_file(existing_path(text, "molecule file"))
    return _from_smiles(text, f"SMILES {text!r}")


def canonical_smiles(source: Any) -> str:
    """RDKit's canonical isomeric SMILES of any accepted molecule source."""
    return parse_molecule(source).smiles


def _clean_log(messages: str) -> str:
    lines = [re.sub(r"^\[\d\d:\d\d:\d\d\]\s?", "", ln).strip() for ln in messages.splitlines()]
    lines = [ln for ln in lines if ln and not set(ln) <= {"^", " "}]
    # RDKit's first line names the problem; the rest repeats the input around a caret.
    return lines[0].replace("SMILES Parse Error: ", "") if lines else ""


class _RDKitLog:
    """Silence RDKit's stderr logging and keep its error messages, for one call."""

    def __enter__(self) -> _RDKitLog:
        from rdkit import rdBase

        self._block = rdBase.BlockLogs()
        capture = getattr(rdBase, "CaptureErrorLog", None)  # RDKit >= 2025
        self._capture = capture() if capture is not None else None
        if self._capture is not None:
            self._capture.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._capture is not None:
            self._capture.__exit__(*exc)
        del self._block

    @property
    def cause(self) -> str:
        return _clean_log(self._capture.messages) if self._capture is not None else ""


def _from_smiles(smiles: str, label: str) -> Molecule:
    from rdkit import Chem

    with _RDKitLog() as log:
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        raise MediaError(f"invalid {label}: {log.cause or 'RDKit cannot parse it'}")
    # "CCO ethanol": RDKit keeps the text after the SMILES as the molecule's name.
    title = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
    return _finish(mol, label, title)


def _from_molblock(block: str, label: str) -> Molecule:
    from rdkit import Chem

    if block.count("$$$$") > 1:
        raise MediaError(f"{label} holds several molecules: pass one")
    with _RDKitLog() as log:
        mol = Chem.MolFromMolBlock(block.split("$$$$")[0], sanitize=False, removeHs=False)
    if mol is None:
        raise MediaError(
            f"invalid {label}: {log.cause or 'RDKit cannot read its atom and bond tables'}"
        )
    title = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
    return _finish(mol, label, title)


def _molblock_label(block: str) -> str:
    first = block.strip("\n").splitlines()[0].strip() if block.strip() else ""
    return f"MOL block {first[:40]!r}" if first else "MOL block"


def _from_file(path: Path) -> Molecule:
    label = f"molecule file {str(path)!r}"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise MediaError(f"{label} cannot be read: {first_line(exc)}") from exc
    if path.suffix.lower() in SMILES_SUFFIXES:
        line = next((ln for ln in text.splitlines() if ln.strip()), "")
        if not line:
            raise MediaError(f"{label} is empty")
        return _from_smiles(line.split()[0], f"SMILES {line.split()[0]!r} in {label}")
    if not text.strip():
        raise MediaError(f"{label} is empty")
    blocks = [b for b in text.split("$$$$") if b.strip()]
    if len(blocks) > 1:
        raise MediaError(f"{label} holds {len(blocks)} molecules: pass a file with one")
    return _from_molblock(text, label)


def _finish(mol: Any, label: str, title: str) -> Molecule:
    """Sanitise (RDKit's checks: valence, aromaticity...) and canonicalise."""
    from rdkit import Chem

    with _RDKitLog() as log:
        try:
            Chem.SanitizeMol(mol)
            mol = Chem.RemoveHs(mol)
        except Exception as exc:  # MolSanitizeException and its kinds
            cause = first_line(exc) or log.cause
            raise MediaError(f"invalid {label}: {cause}") from exc
    if mol.GetNumAtoms() == 0:
        raise MediaError(f"invalid {label}: it has no atoms")
    if mol.GetNumHeavyAtoms() > MAX_HEAVY_ATOMS:
        raise MediaError(
            f"{label} has {mol.GetNumHeavyAtoms()} heavy atoms, over the limit of {MAX_HEAVY_ATOMS}"
        )
    return Molecule(mol, Chem.MolToSmiles(mol), label, title)


# -- description, depiction, prompt text -----------------------------------------------------


def describe(source: Any) -> MoleculeDescription:
    """Formula and a few standard descriptors of a molecule."""
    from rdkit.Chem import Crippen, Descriptors, Lipinski, rdMolDescriptors

    # RDKit's stubs miss these descriptor functions; they exist at run time.
    crippen: Any = Crippen
    descriptors: Any = Descriptors
    lipinski: Any = Lipinski

    m = parse_molecule(source)
    mol = m.mol
    return MoleculeDescription(
        smiles=m.smiles,
        formula=rdMolDescriptors.CalcMolFormula(mol),
        molecular_weight=round(float(descriptors.MolWt(mol)), 3),
        logp=round(float(crippen.MolLogP(mol)), 3),
        tpsa=round(float(rdMolDescriptors.CalcTPSA(mol)), 3),
        h_bond_donors=int(lipinski.NumHDonors(mol)),
        h_bond_acceptors=int(lipinski.NumHAcceptors(mol)),
        rings=int(rdMolDescriptors.CalcNumRings(mol)),
        aromatic_rings=int(rdMolDescriptors.CalcNumAromaticRings(mol)),
        heavy_atoms=int(mol.GetNumHeavyAtoms()),
        rotatable_bonds=int(rdMolDescriptors.CalcNumRotatableBonds(mol)),
    )


def molecule_text(source: Any, name: str = "Molecule") -> str:
    """The text block a prompt shows for one molecule, headed ``[name]`` (``[Molecule A]``,
    ``[Molecule 1]``), in the bracketed style of the judge prompts' other sections."""
    m = parse_molecule(source)
    d = describe(m)
    lines = [f"[{name}]"]
    if m.title:
        lines.append(f"Title: {m.title}")
    lines += [
        f"SMILES: {d.smiles}",
        f"Formula: {d.formula}",
        f"Molecular weight: {d.molecular_weight:.2f} g/mol",
        f"logP: {round(d.logp, 2) + 0.0:.2f}",  # + 0.0: no "-0.00"
        f"TPSA: {d.tpsa:.1f} A^2",
        f"H-bond donors / acceptors: {d.h_bond_donors} / {d.h_bond_acceptors}",
        f"Rings: {d.rings} ({d.aromatic_rings} aromatic); heavy atoms: {d.heavy_atoms}; "
        f"rotatable bonds: {d.rotatable_bonds}",
    ]
    return "\n".join(lines)


def depict(source: Any, size: tuple[int, int] = DEFAULT_DEPICTION_SIZE, *, legend: str = "") -> Any:
    """A 2D depiction (RDKit's drawer, white background) as an RGB PIL image of ``size``."""
    from rdkit.Chem import Draw

    width, height = (int(v) for v in size)
    if width < 16 or height < 16 or width * height > 4096 * 4096:
        raise ConfigError(f"depiction size {size!r} must be between 16x16 and 4096x4096")
    m = parse_molecule(source)
    with _RDKitLog():
        try:
            image = Draw.MolToImage(m.mol, size=(width, height), legend=legend)
        except Exception as exc:
            raise MediaError(f"{m.label} cannot be drawn: {first_line(exc)}") from exc
    return image.convert("RGB")


def render_molecule(
    source: Any,
    name: str = "Molecule",
    *,
    mode: str = DEFAULT_MODE,
    size: tuple[int, int] = DEFAULT_DEPICTION_SIZE,
) -> MoleculeView:
    """The representation(s) ``mode`` asks for: "image", "text" or "both" (default)."""
    mode = check_mode(mode)
    m = parse_molecule(source)
    text = molecule_text(m, name) if mode in ("text", "both") else None
    image = depict(m, size) if mode in ("image", "both") else None
    return MoleculeView(name, m, text, image)


def check_mode(mode: str) -> MoleculeMode:
    key = str(mode).strip().lower()
    if key not in MOLECULE_MODES:
        raise ConfigError(f"unknown molecule mode {mode!r}: use one of {', '.join(MOLECULE_MODES)}")
    return key  # type: ignore[return-value]


def embed_3d(source: Any, *, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Atoms (with hydrogens) and a 3D conformer ``(n_atoms, 3)`` in Angstrom from RDKit's
    ETKDGv3 with a fixed seed: the input a Uni-Mol-style conformer encoder needs."""
    from rdkit import Chem
    from rdkit.Chem import AllChem as _AllChem

    AllChem: Any = _AllChem  # RDKit's stubs miss ETKDGv3 and EmbedMolecule
    m = parse_molecule(source)
    mol = Chem.AddHs(m.mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    with _RDKitLog() as log:
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise MediaError(
                f"{m.label}: no 3D conformer could be embedded "
                f"{('(' + log.cause + ')') if log.cause else ''}".rstrip()
            )
    atoms = [a.GetSymbol() for a in mol.GetAtoms()]
    return atoms, np.asarray(mol.GetConformer().GetPositions(), dtype=np.float64)


__all__ = [
    "DEFAULT_DEPICTION_SIZE",
    "DEFAULT_MODE",
    "MOLECULE_MODES",
    "Molecule",
    "MoleculeDescription",
    "MoleculeEncoder",
    "MoleculeMode",
    "MoleculeView",
    "canonical_smiles",
    "check_mode",
    "depict",
    "describe",
    "embed_3d",
    "molecule_text",
    "parse_molecule",
    "placeholder_text",
    "render_molecule",
]
