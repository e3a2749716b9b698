"""MoleculeSTM's 2D encoder: a 5-layer GIN with OGB atom/bond embeddings, in pure torch.

Parameter names are those of ``molecule_model.pth`` (chao1224/MoleculeSTM, loaded strictly by
Mol-LLaMA): ``molecule_node_model.{atom_encoder, gnns.i, batch_norms.i}`` and the unused
``graph_pred_linear``. Message passing is an ``index_add_`` over the edge list, so torch_geometric
is not needed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from flexjudge.mol_llama.featurize import ATOM_FEATURE_SIZES, BOND_FEATURE_SIZES

__all__ = ["GINConv", "MoleculeGNN", "MoleculeSTM"]


class _SumEmbedding(nn.Module):
    """Sum of one embedding per integer feature column (OGB's AtomEncoder/BondEncoder)."""

    def __init__(self, sizes: tuple[int, ...], dim: int, name: str) -> None:
        super().__init__()
        self.list_name = name
        setattr(self, name, nn.ModuleList(nn.Embedding(n, dim) for n in sizes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        tables: nn.ModuleList = getattr(self, self.list_name)
        out = tables[0](features[:, 0])
        for i in range(1, len(tables)):
            out = out + tables[i](features[:, i])
        return out


class GINConv(nn.Module):
    """``mlp((1 + eps) * x_i + sum_j relu(x_j + bond(e_ji)))``, messages from edge_index[0]
    to edge_index[1] (PyG's source-to-target flow), summed."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim)
        )
        self.eps = nn.Parameter(torch.zeros(1))
        self.bond_encoder = _SumEmbedding(BOND_FEATURE_SIZES, dim, "bond_embedding_list")

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor
    ) -> torch.Tensor:
        messages = F.relu(x[edge_index[0]] + self.bond_encoder(edge_attr))
        aggregated = torch.zeros_like(x).index_add_(0, edge_index[1], messages)
        return self.mlp((1 + self.eps) * x + aggregated)  # type: ignore[no-any-return]


class MoleculeGNN(nn.Module):
    """The node model: atom embeddings, then ``num_layer`` GIN + BatchNorm, ReLU between
    layers (not after the last), dropout 0, readout = last layer."""

    def __init__(self, num_layer: int, dim: int) -> None:
        super().__init__()
        self.atom_encoder = _SumEmbedding(ATOM_FEATURE_SIZES, dim, "atom_embedding_list")
        self.gnns = nn.ModuleList(GINConv(dim) for _ in range(num_layer))
        self.batch_norms = nn.ModuleList(nn.BatchNorm1d(dim) for _ in range(num_layer))

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor
    ) -> torch.Tensor:
        h = self.atom_encoder(x)
        last = len(self.gnns) - 1
        for i, (conv, norm) in enumerate(zip(self.gnns, self.batch_norms)):
            h = norm(conv(h, edge_index, edge_attr))
            if i != last:
                h = F.relu(h)
        return h  # type: ignore[no-any-return]


class MoleculeSTM(nn.Module):
    """The 2D encoder as Mol-LLaMA uses it: per molecule, ``[mean of nodes, node 1, …, node N]``
    padded to the batch's largest molecule, and a bool mask of the real positions."""

    def __init__(self, num_layer: int = 5, emb_dim: int = 300) -> None:
        super().__init__()
        self.num_features = emb_dim
        self.molecule_node_model = MoleculeGNN(num_layer, emb_dim)
        self.graph_pred_linear = nn.Linear(emb_dim, 1)  # unused; present in the checkpoint

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        batch: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.molecule_node_model(x, edge_index, edge_attr)
        num_graphs = int(batch.max().item()) + 1 if batch.numel() else 0
        counts = torch.bincount(batch, minlength=num_graphs)
        pooled = torch.zeros(num_graphs, h.shape[1], dtype=h.dtype, device=h.device)
        pooled = pooled.index_add_(0, batch, h) / counts.clamp(min=1).unsqueeze(1).to(h.dtype)
        # to_dense_batch: node k of molecule b goes to row b, column (k - first node of b).
        starts = torch.cumsum(counts, 0) - counts
        column = torch.arange(len(batch), device=h.device) - starts[batch]
        width = int(counts.max().item()) if num_graphs else 0
        dense = h.new_zeros(num_graphs, width, h.shape[1])
        dense[batch, column] = h
        mask = torch.zeros(num_graphs, width, dtype=torch.bool, device=h.device)
        mask[batch, column] = True
        ones = torch.ones(num_graphs, 1, dtype=torch.bool, device=h.device)
        return torch.cat([pooled.unsqueeze(1), dense], 1), torch.cat([ones, mask], 1)
