"""The Q-Former's query path (BLIP-2/LAVIS ``Qformer.py`` as Mol-LLaMA post-processes it).

Only what inference runs is built, under the checkpoint's names
(``Qformer.bert.embeddings.LayerNorm``, ``Qformer.bert.encoder.layer.i.…``): the query tokens'
LayerNorm, then per layer BERT post-LN self-attention, cross-attention to the blended molecule
features on every ``cross_attention_freq``-th layer (0, 2, 4, …; keys/values from the blended
width), and the query feed-forward (``intermediate_query``/``output_query``). The text branch,
word/position embeddings and LM head are deleted in Mol-LLaMA and absent here; the
``position_ids`` buffer stays, as in the original state dict. The dense/LayerNorm output blocks
are transformers' own BERT modules (same names); the attention core is ours, because
transformers' BERT cross-attention has no separate encoder width.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers.models.bert.modeling_bert import BertIntermediate, BertOutput, BertSelfOutput

from flexjudge.mol_llama.config import QformerConfig

__all__ = ["QformerModel"]


class _AttentionCore(nn.Module):
    """``softmax(q kᵀ / sqrt(d) + mask) v`` with ``query``/``key``/``value`` projections."""

    def __init__(self, config: QformerConfig, kv_dim: int) -> None:
        super().__init__()
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(kv_dim, config.hidden_size)
        self.value = nn.Linear(kv_dim, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        q, k, v = (
            self._split(self.query(x)),
            self._split(self.key(context)),
            self._split(self.value(context)),
        )
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores + mask
        probs = self.dropout(scores.softmax(dim=-1))
        out = (probs @ v).transpose(1, 2)
        return out.reshape(x.shape[0], x.shape[1], -1)


class _Attention(nn.Module):
    def __init__(self, config: QformerConfig, kv_dim: int) -> None:
        super().__init__()
        self.self = _AttentionCore(config, kv_dim)
        self.output = BertSelfOutput(config)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        return self.output(self.self(x, context, mask), x)  # type: ignore[no-any-return]


class _QueryLayer(nn.Module):
    def __init__(self, config: QformerConfig, index: int, encoder_width: int) -> None:
        super().__init__()
        self.attention = _Attention(config, config.hidden_size)
        self.has_cross_attention = index % config.cross_attention_freq == 0
        if self.has_cross_attention:
            self.crossattention = _Attention(config, encoder_width)
        self.intermediate_query = BertIntermediate(config)
        self.output_query = BertOutput(config)

    def forward(
        self, x: torch.Tensor, encoder_states: torch.Tensor, cross_mask: torch.Tensor
    ) -> torch.Tensor:
        # Self-attention over the queries alone: the all-ones mask of the original adds 0.
        x = self.attention(x, x, None)
        if self.has_cross_attention:
            x = self.crossattention(x, encoder_states, cross_mask)
        return self.output_query(self.intermediate_query(x), x)  # type: ignore[no-any-return]


class _Embeddings(nn.Module):
    def __init__(self, config: QformerConfig) -> None:
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1))
        )

    def forward(self, query_embeds: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.LayerNorm(query_embeds))  # type: ignore[no-any-return]


class _Encoder(nn.Module):
    def __init__(self, config: QformerConfig, encoder_width: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(
            _QueryLayer(config, i, encoder_width) for i in range(config.num_hidden_layers)
        )


class _Bert(nn.Module):
    def __init__(self, config: QformerConfig, encoder_width: int) -> None:
        super().__init__()
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config, encoder_width)


class QformerModel(nn.Module):
    """Query tokens [B, Q, hidden] attend to encoder states [B, S, width] with a bool mask
    [B, S]; returns the query outputs [B, Q, hidden]."""

    def __init__(self, config: QformerConfig, encoder_width: int) -> None:
        super().__init__()
        self.bert = _Bert(config, encoder_width)

    def forward(
        self, query_embeds: torch.Tensor, encoder_states: torch.Tensor, encoder_mask: torch.Tensor
    ) -> torch.Tensor:
        x = self.bert.embeddings(query_embeds)
        # transformers' invert_attention_mask: 0 where attended, the dtype's minimum elsewhere.
        keep = encoder_mask[:, None, None, :].to(x.dtype)
        cross_mask = (1.0 - keep) * torch.finfo(x.dtype).min
        for layer in self.bert.encoder.layer:
            x = layer(x, encoder_states, cross_mask)
        return x
