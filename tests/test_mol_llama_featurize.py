"""The featuriser on fixed SMILES, salts and odd stereo, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem

from flexjudge.errors import MediaError
from flexjudge.mol_llama.featurize import (
    ATOM_FEATURE_SIZES,
    BOND_FEATURE_SIZES,
    UNIMOL_DICTIONARY,
    bond_features,
    collate,
    featurize,
    featurize_batch,
    smiles_to_graph,
    unimol_inputs,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_feature_tables_have_the_checkpoint_sizes() -> None:
    assert ATOM_FEATURE_SIZES == (119, 4, 12, 12, 10, 6, 6, 2, 2)
    assert BOND_FEATURE_SIZES == (5, 6, 2)
    assert len(UNIMOL_DICTIONARY) == 31
    assert UNIMOL_DICTIONARY[:5] == ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "C")
    assert UNIMOL_DICTIONARY[29:] == ("Li", "[MASK]")


def test_aspirin_2d_graph() -> None:
    g = smiles_to_graph(ASPIRIN)
    assert g.x.shape == (13, 9) and g.edge_index.shape == (2, 26) and g.edge_attr.shape == (26, 3)
    # [atomic number 6 -> 5, chirality, total degree, charge 0 -> 5, total H, radicals,
    #  hybridisation (SP 0, SP2 1, SP3 2), aromatic, in ring]
    assert g.x[0].tolist() == [5, 0, 4, 5, 3, 0, 2, 0, 0]  # CH3
    assert g.x[1].tolist() == [5, 0, 3, 5, 0, 0, 1, 0, 0]  # ester C
    assert g.x[2].tolist() == [7, 0, 1, 5, 0, 0, 1, 0, 0]  # =O
    assert g.x[4].tolist() == [5, 0, 3, 5, 0, 0, 1, 1, 1]  # aromatic C-O
    # Both directions, same features: C-C single, C=O double conjugated, then aromatic bonds.
    assert g.edge_index[:, :4].tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert g.edge_attr[0].tolist() == [0, 0, 0]
    assert g.edge_attr[2].tolist() == [1, 0, 1]
    assert g.edge_attr[8].tolist() == [3, 0, 1]


def test_aspirin_3d_inputs() -> None:
    m = featurize(ASPIRIN)
    c, n, o = 4, 5, 6
    assert n == UNIMOL_DICTIONARY.index("N")
    assert m.conformer.src_tokens.tolist() == [1, c, c, o, o, *[c] * 7, o, o, 2]
    d = m.conformer.src_distance
    assert d.dtype == torch.float32 and d.shape == (15, 15)
    torch.testing.assert_close(d, d.T)
    assert torch.all(d.diagonal() == 0)
    assert d[0, -1] == 0  # CLS and SEP both sit at the origin
    bond = d[1, 2].item()  # the C-C bond of the acetyl group
    assert 1.4 < bond < 1.6
    tokens = m.conformer.src_tokens
    assert m.conformer.src_edge_type[3, 1].item() == tokens[3] * 31 + tokens[1]


def test_conformers_are_seeded() -> None:
    a = featurize("CCCCCCCCO", seed=0).conformer.src_distance
    assert torch.equal(a, featurize("CCCCCCCCO", seed=0).conformer.src_distance)
    others = [featurize("CCCCCCCCO", seed=s).conformer.src_distance for s in (1, 2, 3)]
    assert any(not torch.allclose(a, o) for o in others)


def test_salt_has_no_bonds_and_both_ions() -> None:
    m = featurize("[Na+].[Cl-]")
    assert m.graph.edge_index.shape == (2, 0) and m.graph.edge_attr.shape == (0, 3)
    assert m.graph.x[:, 0].tolist() == [10, 16]  # atomic numbers 11 and 17, minus one
    assert m.graph.x[:, 3].tolist() == [6, 4]  # charges +1 and -1
    na, cl = UNIMOL_DICTIONARY.index("Na"), UNIMOL_DICTIONARY.index("Cl")
    assert m.conformer.src_tokens.tolist() == [1, na, cl, 2]
    salt = featurize("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]")
    assert salt.conformer.src_tokens.tolist()[-2:] == [na, 2]


def test_odd_stereo_and_elements_fall_into_the_last_buckets() -> None:
    square_planar = smiles_to_graph("[Pt@SP1](F)(Cl)(Br)I")
    assert square_planar.x[0, 1] == 3  # CHI_SQUAREPLANAR -> CHI_OTHER
    assert smiles_to_graph("C[C@H](N)O").x[1, 1] == 2  # CHI_TETRAHEDRAL_CCW
    assert smiles_to_graph("F/C=C\\F").edge_attr[2, 1] == 1  # STEREOZ
    assert smiles_to_graph("C/C=C/C").edge_attr[2, 1] == 2  # STEREOE
    mol = Chem.MolFromSmiles("Cc1ccccc1-c1ccccc1C")
    bond = mol.GetBondBetweenAtoms(6, 7)
    bond.SetStereo(Chem.BondStereo.STEREOATROPCW)  # newer than the 6-entry table
    assert bond_features(bond)[1] == 5  # STEREOANY, not a crash
    uranium = featurize("[U]")
    assert uranium.conformer.src_tokens.tolist() == [1, 3, 2]  # [UNK]
    assert featurize("[Pt@SP1](F)(Cl)(Br)I").conformer.src_tokens[1] == 3


@pytest.mark.parametrize("smiles", ["", "   ", "C1CC", "not a molecule"])
def test_bad_smiles_is_a_media_error_naming_it(smiles: str) -> None:
    with pytest.raises(MediaError, match="molecule"):
        featurize(smiles)


def test_conformer_failure_is_a_media_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from rdkit.Chem import AllChem

    # A fake embedder (RDKit embeds every sane SMILES): it returns without a conformer.
    monkeypatch.setattr(AllChem, "EmbedMultipleConfs", lambda mol, **kw: [])
    with pytest.raises(MediaError, match=r"'CCO'.*no 3D conformer"):
        featurize("CCO")


def test_hydrogens_dropped_and_large_molecules_subsampled() -> None:
    atoms = ["C", "H", "O", "H"]
    coords = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]])
    u = unimol_inputs(atoms, coords)
    assert u.src_tokens.tolist() == [1, 4, 6, 2]
    assert u.src_distance[1, 2].item() == pytest.approx(2.0)
    assert u.src_distance[0, 1].item() == pytest.approx(1.0)  # centred: C at -1, O at +1
    big = unimol_inputs(["C"] * 20, np.random.default_rng(0).normal(size=(20, 3)), max_atoms=5)
    assert len(big.src_tokens) == 7
    only_h = unimol_inputs(["H", "H"], np.array([[0.0, 0, 0], [0.74, 0, 0]]))
    assert only_h.src_tokens.tolist() == [1, 8, 8, 2]  # nothing else left: the H stay


def test_collate_pads_to_eight_and_offsets_edges() -> None:
    batch = featurize_batch([ASPIRIN, "CCO"])
    assert len(batch) == 2
    assert batch.unimol["src_tokens"].shape == (2, 16)
    assert batch.unimol["src_tokens"][1].tolist() == [1, 4, 4, 6, 2] + [0] * 11
    assert batch.unimol["src_distance"].shape == (2, 16, 16)
    assert batch.moleculestm["x"].shape == (16, 9)
    assert batch.moleculestm["batch"].tolist() == [0] * 13 + [1] * 3
    ethanol_edges = batch.moleculestm["edge_index"][:, 26:]
    assert ethanol_edges.tolist() == [[13, 14, 14, 15], [14, 13, 15, 14]]
    assert batch.smiles == (ASPIRIN, "CCO")
    with pytest.raises(MediaError):
        collate([])
