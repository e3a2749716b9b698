"""Hand-computed numerics of the molecule path and the LoRA delta."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from flexjudge.mol_llama.config import QformerConfig
from flexjudge.mol_llama.gin import GINConv, MoleculeSTM
from flexjudge.mol_llama.qformer import QformerModel
from flexjudge.mol_llama.unimol import GaussianLayer, PairBiasSelfAttention, UniMolEncoder


def test_gin_layer_by_hand() -> None:
    conv: Any = GINConv(2).eval()
    with torch.no_grad():
        conv.eps.fill_(0.5)
        for table in conv.bond_encoder.bond_embedding_list:
            table.weight.zero_()
        conv.bond_encoder.bond_embedding_list[0].weight[1] = torch.tensor([-3.0, 1.0])
        lin1, bn, _, lin2 = conv.mlp
        lin1.weight.copy_(torch.tensor([[1.0, 0], [0, 1], [1, 1], [0, 0]]))
        lin1.bias.zero_()
        bn.running_mean.copy_(torch.tensor([1.0, 0, 0, 0]))
        bn.running_var.fill_(1.0 - bn.eps)  # so the BatchNorm divides by exactly 1
        bn.weight.fill_(2.0)
        bn.bias.zero_()
        lin2.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 0, 1, 0]]))
        lin2.bias.copy_(torch.tensor([0.0, 1.0]))
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]])
    # Path 0-1-2 in both directions; bond 0-1 has type 1 (embedding [-3, 1]), bond 1-2 type 0.
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    edge_attr = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    out = conv(x, edge_index, edge_attr)
    # Node 0 gets relu(x1 + [-3, 1]) = [0, 0]; node 1 gets relu(x0 + [-3,1]) + relu(x2) =
    # [0, 3] + [0, 1]; node 2 gets relu(x1) = [3, 0]. Then h = 1.5 x + aggregated.
    h = torch.tensor([[1.5, 3.0], [4.5, -1.5 + 4.0], [3.0, 1.5]])
    hidden = torch.stack([h[:, 0], h[:, 1], h[:, 0] + h[:, 1], torch.zeros(3)], 1)
    hidden = torch.relu(2.0 * (hidden - torch.tensor([1.0, 0, 0, 0])))
    expected = torch.stack([hidden[:, 0], hidden[:, 2] + 1.0], 1)
    torch.testing.assert_close(out, expected)


def test_moleculestm_pools_and_pads_per_molecule() -> None:
    enc = MoleculeSTM(num_layer=2, emb_dim=4).eval()
    x = torch.zeros((5, 9), dtype=torch.long)
    x[:, 0] = torch.tensor([5, 6, 7, 5, 5])  # C N O | C C
    edge_index = torch.tensor([[0, 1, 3, 4], [1, 0, 4, 3]])
    edge_attr = torch.zeros((4, 3), dtype=torch.long)
    batch = torch.tensor([0, 0, 0, 1, 1])
    feats, mask = enc(x, edge_index, edge_attr, batch)
    nodes = enc.molecule_node_model(x, edge_index, edge_attr)
    assert feats.shape == (2, 4, 4)
    assert mask.tolist() == [[True, True, True, True], [True, True, True, False]]
    torch.testing.assert_close(feats[0, 0], nodes[:3].mean(0))
    torch.testing.assert_close(feats[1, 1:3], nodes[3:])
    assert torch.all(feats[1, 3] == 0)


def test_gaussian_distance_kernel_by_hand() -> None:
    layer = GaussianLayer(num_kernels=2, edge_types=4)
    with torch.no_grad():
        layer.means.weight.copy_(torch.tensor([[2.0, 0.5]]))
        layer.stds.weight.copy_(torch.tensor([[-0.5, 1.0]]))  # |std| + 1e-5
        layer.mul.weight.copy_(torch.tensor([[1.0], [2.0], [1.0], [1.0]]))
        layer.bias.weight.copy_(torch.tensor([[0.0], [0.5], [0.0], [0.0]]))
    out = layer(torch.tensor([[[1.0]]]), torch.tensor([[[1]]]))  # d = 1, edge type 1
    x = 2.0 * 1.0 + 0.5
    expected = [
        math.exp(-0.5 * ((x - mean) / std) ** 2) / (math.sqrt(2 * 3.14159) * std)
        for mean, std in ((2.0, 0.5 + 1e-5), (0.5, 1.0 + 1e-5))
    ]
    torch.testing.assert_close(out.view(-1), torch.tensor(expected))


def test_pair_bias_update_by_hand() -> None:
    attn = PairBiasSelfAttention(dim=2, heads=1)
    with torch.no_grad():
        attn.in_proj.weight.copy_(torch.cat([torch.eye(2)] * 3))
        attn.in_proj.bias.zero_()
        attn.out_proj.weight.copy_(torch.eye(2))
        attn.out_proj.bias.zero_()
    x = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    bias = torch.tensor([[[0.5, -1.0], [0.0, 0.25]]])
    out, new_bias = attn(x, bias)
    scores = x[0] @ x[0].T / math.sqrt(2) + bias[0]  # q = k = v = x, head_dim 2
    torch.testing.assert_close(new_bias[0], scores)
    torch.testing.assert_close(out[0], torch.softmax(scores, -1) @ x[0])


def test_each_uni_mol_layer_gets_the_previous_layers_bias() -> None:
    torch.manual_seed(0)
    enc: Any = UniMolEncoder(
        encoder_layers=2, embed_dim=8, ffn_embed_dim=16, attention_heads=2, num_kernels=4
    ).eval()
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    for layer in enc.encoder.layers:
        layer.self_attn.register_forward_hook(lambda m, args, out: seen.append((args[1], out[1])))
    tokens = torch.tensor([[1, 4, 5, 2, 0, 0]])  # CLS C N SEP PAD PAD
    dist = torch.rand(1, 6, 6)
    enc(tokens, dist, tokens.view(1, -1, 1) * 31 + tokens.view(1, 1, -1))
    (bias0, out0), (bias1, _) = seen
    torch.testing.assert_close(bias1, out0)  # the pair representation evolves
    assert torch.isinf(bias0[:, :, 4:]).all() and torch.isfinite(bias0[:, :, :4]).all()


def test_qformer_ignores_masked_encoder_positions() -> None:
    config = QformerConfig(
        hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16
    )
    torch.manual_seed(0)
    qf = QformerModel(config, encoder_width=6).eval()
    queries = torch.randn(1, 3, 8)
    states = torch.randn(1, 4, 6)
    mask = torch.tensor([[True, True, False, False]])
    out = qf(queries, states, mask)
    changed = states.clone()
    changed[0, 2:] = 100.0
    torch.testing.assert_close(qf(queries, changed, mask), out)
    assert not torch.allclose(qf(queries, changed, torch.ones_like(mask)), out)


def test_lora_delta_by_hand(tiny_mol_llama: Path) -> None:
    from flexjudge.mol_llama import MolLLaMA

    model = MolLLaMA.from_pretrained(tiny_mol_llama)
    q_proj = model.llm.base_model.model.model.layers[0].self_attn.q_proj
    base = q_proj.base_layer.weight
    a, b = q_proj.lora_A["default"].weight, q_proj.lora_B["default"].weight
    lora = model.config.llm_config.lora_config
    assert q_proj.scaling["default"] == lora.lora_alpha / lora.r == 4.0
    assert b.abs().sum() > 0
    x = torch.randn(3, base.shape[1])
    with torch.no_grad():
        expected = x @ base.T + (lora.lora_alpha / lora.r) * (x @ a.T @ b.T)
        torch.testing.assert_close(q_proj(x), expected)
        merged = q_proj.get_delta_weight("default") + base
        torch.testing.assert_close(x @ merged.T, expected)
