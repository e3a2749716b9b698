"""Mol-LLaMA's blending module: 2D (MoleculeSTM) and 3D (Uni-Mol) features attend to themselves
and to each other, then are concatenated for the Q-Former.

Names follow the checkpoint: ``mlp.{moleculestm,unimol}.0`` (projection to the common width),
``cross_attn_blocks.i.{self_attn_block_2D, self_attn_block_3D, cross_attn_block_2Dto3D,
cross_attn_block_3Dto2D}``, each with ``attn`` (``nn.MultiheadAttention``), ``mlp.{0,2}`` and
``ln_q/ln_k/ln_v/ln``. Order inside a block, as in the original: self 2D, self 3D, then 2D
queries 3D (``3Dto2D``), then 3D queries the *updated* 2D (``2Dto3D``); every output is zeroed
at padded positions.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BlendingModule", "ResidualAttentionBlock"]


class ResidualAttentionBlock(nn.Module):
    """``x = q + MHA(ln_q q, ln_k k, ln_v v)``, then ``x = x + mlp(ln x)``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Linear(dim * mlp_ratio, dim)
        )
        self.ln_q = nn.LayerNorm(dim)
        self.ln_k = nn.LayerNorm(dim)
        self.ln_v = nn.LayerNorm(dim)
        self.ln = nn.LayerNorm(dim)

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor
    ) -> torch.Tensor:
        attended = self.attn(
            self.ln_q(q), self.ln_k(k), self.ln_v(v), need_weights=False, key_padding_mask=~key_mask
        )[0]
        x = q + attended
        return x + self.mlp(self.ln(x))  # type: ignore[no-any-return]


class _CrossAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.self_attn_block_2D = ResidualAttentionBlock(dim, heads, mlp_ratio)
        self.self_attn_block_3D = ResidualAttentionBlock(dim, heads, mlp_ratio)
        self.cross_attn_block_2Dto3D = ResidualAttentionBlock(dim, heads, mlp_ratio)
        self.cross_attn_block_3Dto2D = ResidualAttentionBlock(dim, heads, mlp_ratio)

    def forward(
        self, f2d: torch.Tensor, f3d: torch.Tensor, m2d: torch.Tensor, m3d: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        z2d, z3d = m2d.unsqueeze(-1), m3d.unsqueeze(-1)
        f2d = self.self_attn_block_2D(f2d, f2d, f2d, m2d) * z2d
        f3d = self.self_attn_block_3D(f3d, f3d, f3d, m3d) * z3d
        f2d = self.cross_attn_block_3Dto2D(f2d, f3d, f3d, m3d) * z2d
        f3d = self.cross_attn_block_2Dto3D(f3d, f2d, f2d, m2d) * z3d
        return f2d, f3d


class BlendingModule(nn.Module):
    """``{encoder: features [B, N_e, dim_e]}`` and masks -> ``[B, N_2d + N_3d, hidden]`` (2D
    first) and the concatenated mask."""

    def __init__(
        self,
        hidden_dim: int,
        num_heads: int,
        num_layers: int,
        dims: dict[str, int],
        mlp_ratio: int = 4,
    ) -> None:
        super().__init__()
        self.cross_attn_blocks = nn.ModuleList(
            _CrossAttentionBlock(hidden_dim, num_heads, mlp_ratio) for _ in range(num_layers)
        )
        self.mlp = nn.ModuleDict(
            {key: nn.Sequential(nn.Linear(dim, hidden_dim)) for key, dim in dims.items()}
        )

    def forward(
        self, features: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        m2d, m3d = masks["moleculestm"], masks["unimol"]
        f2d = self.mlp["moleculestm"](features["moleculestm"]) * m2d.unsqueeze(-1)
        f3d = self.mlp["unimol"](features["unimol"]) * m3d.unsqueeze(-1)
        for block in self.cross_attn_blocks:
            f2d, f3d = block(f2d, f3d, m2d, m3d)
        return torch.cat([f2d, f3d], dim=1), torch.cat([m2d, m3d], dim=1)
