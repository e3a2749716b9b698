"""Molecules: parsing every accepted form, canonical SMILES, descriptors, depiction, the prompt
text block, representation modes, the encoder extension point, and errors naming the input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flexjudge.errors import ConfigError, MediaError
from flexjudge.media import (
    MoleculeEncoder,
    canonical_smiles,
    depict,
    describe,
    embed_3d,
    molecule_text,
    parse_molecule,
    placeholder_text,
    render_molecule,
)

Chem = pytest.importorskip("rdkit.Chem")

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_canonical_smiles_is_order_independent():
    assert canonical_smiles("OCC") == canonical_smiles("CCO") == "CCO"
    assert canonical_smiles("c1ccccc1O") == canonical_smiles("Oc1ccccc1")
    assert canonical_smiles("  CCO \n") == "CCO"


def test_aspirin_description():
    d = describe(ASPIRIN)
    assert d.formula == "C9H8O4"
    assert d.molecular_weight == pytest.approx(180.16, abs=0.01)
    assert d.tpsa == pytest.approx(63.6, abs=0.1)
    assert (d.h_bond_donors, d.h_bond_acceptors, d.rings, d.aromatic_rings) == (1, 3, 1, 1)
    assert d.heavy_atoms == 13 and d.smiles == canonical_smiles(ASPIRIN)


def test_mol_block_text_and_files(tmp_path):
    mol = Chem.MolFromSmiles(ASPIRIN)
    mol.SetProp("_Name", "aspirin")
    block = Chem.MolToMolBlock(mol)
    assert parse_molecule(block).smiles == canonical_smiles(ASPIRIN)
    assert parse_molecule(block).title == "aspirin"
    mol_file = tmp_path / "aspirin.mol"
    mol_file.write_text(block)
    sdf = tmp_path / "aspirin.sdf"
    sdf.write_text(block + "$$$$\n")
    smi = tmp_path / "aspirin.smi"
    smi.write_text(f"{ASPIRIN} aspirin\n")
    for source in (mol_file, str(mol_file), sdf, str(sdf), smi):
        assert parse_molecule(source).smiles == canonical_smiles(ASPIRIN), source
    with_h = Chem.MolToMolBlock(Chem.AddHs(mol))
    assert parse_molecule(with_h).smiles == canonical_smiles(ASPIRIN)  # explicit H removed
    assert parse_molecule(mol).smiles == canonical_smiles(ASPIRIN)  # an RDKit Mol


@pytest.mark.parametrize(
    "smiles,cause",
    [
        ("C1CC", "unclosed ring"),
        ("Xx", "syntax error"),
        ("C(C)(C)(C)(C)C", "valence"),
        ("c1cccc1", "kekulize"),
    ],
)
def test_invalid_smiles_name_the_input_and_cause(smiles, cause, capfd):
    with pytest.raises(
        MediaError, match=rf"invalid SMILES '{__import__('re').escape(smiles)}'"
    ) as info:
        parse_molecule(smiles)
    assert cause in str(info.value).lower()
    # RDKit's own logging is captured into the message, not printed.
    assert "SMILES Parse Error" not in capfd.readouterr().err


def test_invalid_mol_blocks_and_files(tmp_path):
    with pytest.raises(MediaError, match=r"invalid MOL block 'garbage'"):
        parse_molecule("garbage\n\n\n  2  1  0\nM  END\n")
    bad = tmp_path / "bad.sdf"
    bad.write_text("junk\nmore junk\nM  END\n$$$$\n")
    with pytest.raises(MediaError, match=r"molecule file '.*bad\.sdf'"):
        parse_molecule(bad)
    with pytest.raises(MediaError, match=r"molecule file 'missing\.sdf' does not exist"):
        parse_molecule("missing.sdf")
    block = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO"))
    two = tmp_path / "two.sdf"
    two.write_text(block + "$$$$\n" + block + "$$$$\n")
    with pytest.raises(MediaError, match=r"two\.sdf' holds 2 molecules"):
        parse_molecule(two)
    empty = tmp_path / "empty.mol"
    empty.write_text("")
    with pytest.raises(MediaError, match=r"empty\.mol' is empty"):
        parse_molecule(empty)
    with pytest.raises(MediaError, match="empty molecule"):
        parse_molecule("   ")
    with pytest.raises(MediaError, match="unsupported molecule value of type int"):
        parse_molecule(42)


def test_depiction_is_a_pil_image_of_the_requested_size():
    from PIL import Image

    image = depict(ASPIRIN, (320, 200))
    assert isinstance(image, Image.Image) and image.size == (320, 200) and image.mode == "RGB"
    pixels = np.asarray(image)
    assert (pixels < 128).any() and (pixels > 250).mean() > 0.5  # drawn bonds on white
    with pytest.raises(ConfigError):
        depict(ASPIRIN, (4, 4))


def test_prompt_text_block():
    text = molecule_text(ASPIRIN, "Molecule A")
    lines = text.splitlines()
    assert lines[0] == "[Molecule A]"
    assert f"SMILES: {canonical_smiles(ASPIRIN)}" in lines
    assert "Formula: C9H8O4" in lines
    assert any(line.startswith("Molecular weight: 180.16") for line in lines)
    assert molecule_text("CCO", "Molecule 1").startswith("[Molecule 1]\nSMILES: CCO")


def test_representation_modes():
    both = render_molecule(ASPIRIN, "Molecule A")
    assert both.text and both.image is not None and both.name == "Molecule A"
    image = render_molecule(ASPIRIN, mode="image", size=(128, 128))
    assert image.text is None and image.image.size == (128, 128)
    text = render_molecule(ASPIRIN, mode="TEXT")
    assert text.image is None and "C9H8O4" in text.text
    with pytest.raises(ConfigError, match="unknown molecule mode"):
        render_molecule(ASPIRIN, mode="3d")


def test_encoder_extension_point():
    class FakeMolLlama:
        placeholder_token = "<mol>"
        num_query_tokens = 8

        def featurize(self, molecule):
            return embed_3d(molecule, seed=1)

        def encode(self, features):
            return np.zeros((len(features), self.num_query_tokens, 16), np.float32)

    enc = FakeMolLlama()
    assert isinstance(enc, MoleculeEncoder)
    assert placeholder_text(enc) == "<mol>" * 8
    out = enc.encode([enc.featurize(parse_molecule("CCO"))])
    assert out.shape == (1, 8, 16)
    assert not isinstance(object(), MoleculeEncoder)


def test_3d_embedding_is_seeded():
    atoms, xyz = embed_3d("CCO", seed=7)
    atoms2, _xyz2 = embed_3d("OCC", seed=7)
    assert atoms.count("H") == 6 and xyz.shape == (9, 3)
    assert sorted(atoms) == sorted(atoms2)
    np.testing.assert_allclose(
        *(np.sort(np.linalg.norm(x - x.mean(0), axis=1)) for x in (xyz, embed_3d("CCO", seed=7)[1]))
    )


def test_paths_as_pathlike_must_exist(tmp_path: Path):
    with pytest.raises(MediaError, match="does not exist"):
        parse_molecule(tmp_path / "nothing.mol")
