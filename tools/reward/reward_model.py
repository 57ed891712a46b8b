"""banter's reward model in plain torch, and its export as a Hugging Face-style sequence-classifier folder.

A GPT-2 body (tools/gpt2/model.py's blocks) reads `<|user|> context <|bot|> reply <|endoftext|>`
(the pair template its tokenizer.json declares) with causal attention, and a linear head on the
hidden state of the last real token gives one score: higher means the reply is preferred (a
Bradley–Terry reward model, as in InstructGPT). Inputs are right-padded, so no real token ever
attends to a pad and a batch scores each pair as it would alone.

The folder has config.json (num_labels 1, id2label {0: "reward"}, `banter` reading limits),
tokenizer.json (+ tokenizer_config.json) and onnx/model.onnx: input_ids, attention_mask -> logits
[batch, 1], the layout transformers.js and optimum use for sequence classifiers.
"""
from __future__ import annotations

import json
import os
import shutil
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "gpt2"))
sys.path.insert(0, os.path.join(ROOT, "tools", "tokenizer"))
from bpe_encoder import ByteLevelBPE  # noqa: E402
from model import Block, GPT2Config  # noqa: E402

SPECIALS = ("<|user|>", "<|bot|>", "<|endoftext|>")


class RewardModel(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.head = nn.Linear(config.n_embd, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        batch, width = input_ids.shape
        positions = torch.arange(width, device=input_ids.device).unsqueeze(0).expand(batch, width)
        x = self.drop(self.wte(input_ids) + self.wpe(positions))
        allowed = torch.tril(torch.ones(width, width, dtype=torch.bool, device=input_ids.device)).unsqueeze(0).unsqueeze(0)
        for block in self.h:
            x, _ = block(x, allowed, None)
        x = self.ln_f(x)
        last = x[torch.arange(batch, device=input_ids.device), attention_mask.long().sum(1) - 1]
        return self.head(self.drop(last))


class PairEncoder:
    """(context, reply) -> ids as the pair template builds them, truncated as banter truncates (context keeps its end)."""

    def __init__(self, tokenizer_json: str, max_context: int, max_response: int):
        self.bpe = ByteLevelBPE(tokenizer_json)
        self.user, self.bot, self.end = (self.bpe.token_id(t) for t in SPECIALS)
        self.max_context, self.max_response = max_context, max_response

    def encode(self, context: str, response: str) -> list[int]:
        c = self.bpe.encode(context)[-self.max_context:] if context else []
        r = self.bpe.encode(response)[:self.max_response] if response else []
        return [self.user] + c + [self.bot] + r + [self.end]

    def batch(self, pairs):
        encoded = [self.encode(c, r) for c, r in pairs]
        width = max(len(ids) for ids in encoded)
        input_ids = torch.full((len(pairs), width), self.end, dtype=torch.long)
        mask = torch.zeros(len(pairs), width, dtype=torch.long)
        for i, ids in enumerate(encoded):
            input_ids[i, :len(ids)] = torch.tensor(ids)
            mask[i, :len(ids)] = 1
        return input_ids, mask


def pair_template(bpe: ByteLevelBPE) -> dict:
    special = lambda token, type_id: {"SpecialToken": {"id": token, "type_id": type_id}}
    sequence = lambda name, type_id: {"Sequence": {"id": name, "type_id": type_id}}
    return {
        "type": "TemplateProcessing",
        "single": [special("<|user|>", 0), sequence("A", 0), special("<|bot|>", 0), special("<|endoftext|>", 0)],
        "pair": [special("<|user|>", 0), sequence("A", 0), special("<|bot|>", 0), sequence("B", 1), special("<|endoftext|>", 1)],
        "special_tokens": {t: {"id": t, "ids": [bpe.token_id(t)], "tokens": [t]} for t in SPECIALS},
    }


def export(model: RewardModel, encoder: PairEncoder, tokenizer_dir: str, out: str, extra_config: dict | None = None) -> None:
    """Writes the folder: onnx/model.onnx, config.json, tokenizer.json (with the pair template), tokenizer_config.json."""
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    model.eval()
    sample = encoder.batch([("hello", "hi there"), ("how are you?", "fine")])
    torch.onnx.export(model, sample, os.path.join(out, "onnx", "model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
                      opset_version=14)
    with open(os.path.join(tokenizer_dir, "tokenizer.json"), encoding="utf-8") as f:
        tokenizer = json.load(f)
    tokenizer["post_processor"] = pair_template(encoder.bpe)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(tokenizer_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        tokenizer_config = json.load(f)
    tokenizer_config.update({"pad_token": "<|endoftext|>", "model_max_length": model.config.n_positions})
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config, f, indent=2)
    c = model.config
    config = {
        "model_type": "gpt2",
        "architectures": ["BanterRewardModel"],
        "problem_type": "regression",
        "num_labels": 1,
        "id2label": {"0": "reward"},
        "label2id": {"reward": 0},
        "vocab_size": c.vocab_size, "n_positions": c.n_positions, "n_embd": c.n_embd, "n_layer": c.n_layer, "n_head": c.n_head,
        "pad_token_id": encoder.end,
        "banter": {"maxContextTokens": encoder.max_context, "maxResponseTokens": encoder.max_response},
        **(extra_config or {}),
    }
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def copy_if_missing(src: str, dst: str) -> None:
    if not os.path.exists(dst):
        shutil.copyfile(src, dst)
