"""Plain PyTorch GPT-2 whose state-dict names match Hugging Face's GPT2LMHeadModel.

Used to train banter's models and to export them to ONNX without the transformers library.
Conv1D weights are stored [in, out] as in Hugging Face checkpoints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from torch import nn

KeyValue = Tuple[torch.Tensor, torch.Tensor]


@dataclass
class GPT2Config:
    vocab_size: int
    n_positions: int = 512
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 4
    layer_norm_epsilon: float = 1e-5
    bos_token_id: int = 0
    eos_token_id: int = 0
    dropout: float = 0.1

    def to_hf_dict(self) -> dict:
        """The config.json that Hugging Face tools expect for this model."""
        return {
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            "vocab_size": self.vocab_size,
            "n_positions": self.n_positions,
            "n_ctx": self.n_positions,
            "n_embd": self.n_embd,
            "n_layer": self.n_layer,
            "n_head": self.n_head,
            "n_inner": None,
            "activation_function": "gelu_new",
            "resid_pdrop": self.dropout,
            "embd_pdrop": self.dropout,
            "attn_pdrop": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": 0.02,
            "scale_attn_weights": True,
            "tie_word_embeddings": True,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "use_cache": True,
            "torch_dtype": "float32",
        }


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """The tanh approximation of GELU that GPT-2 was trained with."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Conv1D(nn.Module):
    """A linear layer with weight [in, out] (GPT-2's original layout)."""

    def __init__(self, n_out: int, n_in: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight).reshape(*x.shape[:-1], -1)


class Attention(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.c_attn = Conv1D(3 * config.n_embd, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.n_head, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, past: Optional[KeyValue]) -> Tuple[torch.Tensor, KeyValue]:
        query, key, value = self.c_attn(x).split(x.size(-1), dim=2)
        query, key, value = self._split_heads(query), self._split_heads(key), self._split_heads(value)
        if past is not None:
            key = torch.cat([past[0], key], dim=-2)
            value = torch.cat([past[1], value], dim=-2)
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.head_dim)
        # `allowed` is [batch or 1, 1, seq, past+seq]; masked scores get the dtype's minimum (not -inf,
        # so that a fully masked row, e.g. a left pad's own query, stays finite).
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        weights = self.attn_dropout(weights)
        out = torch.matmul(weights, value)
        batch, _, seq, _ = out.shape
        out = out.permute(0, 2, 1, 3).reshape(batch, seq, self.n_head * self.head_dim)
        return self.resid_dropout(self.c_proj(out)), (key, value)


class MLP(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.c_fc = Conv1D(4 * config.n_embd, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, 4 * config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(gelu_new(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = Attention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, past: Optional[KeyValue]) -> Tuple[torch.Tensor, KeyValue]:
        attn_out, present = self.attn(self.ln_1(x), allowed, past)
        x = x + attn_out
        x = x + self.mlp(self.ln_2(x))
        return x, present


class GPT2Model(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.config = config
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as in GPT-2
        # GPT-2's scaled init of residual projections keeps deep stacks stable.
        for name, param in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(param, std=0.02 / math.sqrt(2 * config.n_layer))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.Tensor] = None,
        past_key_values: Optional[List[KeyValue]] = None,
    ) -> Tuple[torch.Tensor, List[KeyValue]]:
        """Returns (logits [batch, seq, vocab], presents: per layer (key, value) [batch, head, past+seq, head_dim]).

        attention_mask is [batch, past+seq], 0 on padding (left padding works when position_ids
        skip the pads; without position_ids they are derived from the mask).
        """
        batch, seq = input_ids.shape
        past_len = past_key_values[0][0].size(-2) if past_key_values is not None else 0
        total = past_len + seq
        device = input_ids.device
        if attention_mask is None:
            attention_mask = torch.ones(batch, total, dtype=torch.long, device=device)
        if position_ids is None:
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, past_len:]

        x = self.transformer.wte(input_ids) + self.transformer.wpe(position_ids)
        x = self.transformer.drop(x)

        query_pos = torch.arange(seq, device=device).unsqueeze(1) + past_len
        key_pos = torch.arange(total, device=device).unsqueeze(0)
        causal = key_pos <= query_pos  # [seq, total]
        allowed = causal.unsqueeze(0).unsqueeze(0) & attention_mask.bool().unsqueeze(1).unsqueeze(2)

        presents: List[KeyValue] = []
        for i, block in enumerate(self.transformer.h):
            x, present = block(x, allowed, past_key_values[i] if past_key_values is not None else None)
            presents.append(present)
        x = self.transformer.ln_f(x)
        return self.lm_head(x), presents
