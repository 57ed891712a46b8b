"""Exports the trained forward and backward models as Hugging Face folders (ONNX) with model cards.

Usage: /usr/bin/python3 tools/train/export_models.py --work tools/.work --out models
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gpt2"))

from export import export_model  # noqa: E402
from model import GPT2Config, GPT2LMHeadModel  # noqa: E402
from sequences import FORMAT  # noqa: E402

SPECIAL = ["<|user|>", "<|bot|>", "<|persona|>", "<|knowledge|>"]
GENERATION = {
    "do_sample": True,
    "temperature": 0.8,
    "top_k": 40,
    "top_p": 0.9,
    # No repetition penalty or n-gram ban here: Hugging Face applies both to the prompt too, which
    # forbids copying a knowledge snippet or persona line. banter bans n-grams within a reply only.
    "repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "min_new_tokens": 2,
    "max_new_tokens": 40,
}
TOKENIZER_CONFIG = {
    "bos_token": "<|endoftext|>",
    "eos_token": "<|endoftext|>",
    "unk_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>",
    "additional_special_tokens": SPECIAL,
}
MODELS = {
    "forward": ("banter-chat", "generates the bot's reply: p(response | persona, knowledge, history)"),
    "backward": ("banter-chat-backward", "scores the history given a reply, p(source | response), for MMI reranking"),
}
DATA_TABLE = """| data | licence | use |
|---|---|---|
| Topical-Chat (Amazon), conversations and reading sets | CDLA-Sharing-1.0 | knowledge-grounded chit-chat; each turn's Wikipedia snippet from `knowledge_source` |
| Topical-Chat Wikipedia lead sections | CC BY-SA 3.0 | the knowledge snippets |
| Synthetic-Persona-Chat (Google) | CC BY 4.0 | persona-grounded chit-chat (placeholders replaced by names) |
| Schema-Guided Dialogue (Google, DSTC8), Music/Media/Movies dialogues | CC BY-SA 4.0 | music and film recommendation talk (system = bot) |
| WordNet 3.0 (Princeton University), noun glosses from Debian `wordnet-base` | WordNet 3.0 licence (permissive) | definition questions answered from a given snippet: teaches copying knowledge |"""


def load(work: str, direction: str):
    checkpoint = torch.load(os.path.join(work, direction, "checkpoint.pt"), map_location="cpu")
    with open(os.path.join(work, direction, "metrics.json"), encoding="utf-8") as source:
        metrics = json.load(source)
    config = GPT2Config(**checkpoint["config"])
    model = GPT2LMHeadModel(config)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    return model, config, metrics


def model_card(name: str, direction: str, purpose: str, config: GPT2Config, metrics: dict) -> str:
    final = metrics["final"]
    hours = metrics["train_seconds"] / 3600
    epochs = metrics["train_tokens_seen"] / max(1, metrics["train_input_tokens_per_epoch"])
    layout = (
        "one sequence per dialogue: bot persona lines, then the turns in order, each turn preceded by the "
        "knowledge snippet it used; loss on the bot's replies (Topical-Chat: on both speakers' replies; "
        "Persona-Chat: written once from each speaker's viewpoint with that speaker's persona). Each reply "
        f"that uses its knowledge or a persona line is also trained {metrics['args'].get('focus_repeat', 0)} more times per epoch "
        "in a short window (persona, the turn before, knowledge, reply): see tools/train/sequences.py"
        if direction == "forward"
        else "the turns of each dialogue in reverse order (DialoGPT's backward model), no persona or knowledge; "
        "loss on every turn after the first of each window"
    )
    return f"""# {name}

banter's default {'dialogue' if direction == 'forward' else 'MMI backward'} model: it {purpose}.
A GPT-2 (`model_type: gpt2`) trained from scratch by `npm run train:models` (tools/train_models.sh)
on {metrics.get('hardware', 'CPU')}. Small and fast, not knowledgeable: it answers from a persona line or knowledge snippet when
one is given, and otherwise gives short, generic, sometimes incoherent replies.

## Files

`onnx/model.onnx` is the standard decoder with past (optimum's inputs and outputs: transformers.js
and onnxruntime users load it as is); `onnx/decoder_slot_cache.onnx` is banter's graph of the same
weights, with a key/value cache banter owns (tools/gpt2/slot_cache.py), which the engine runs.
Both read the weights from `onnx/model.onnx_data`.

## Format
`dialogue_format.json` declares how a dialogue is written (direction `{direction}`):
persona `<|persona|>text`, knowledge `<|knowledge|>text` (placed right before the turn that uses it,
so put it after the history, just before the response prefix), user `<|user|>text`,
bot `<|bot|>text<|endoftext|>`. Training layout: {layout}. Windows of at most {config.n_positions} tokens.

## Size
{metrics['parameters'] / 1e6:.2f}M parameters: {config.n_layer} layers, {config.n_embd} wide, {config.n_head} heads,
{config.n_positions} positions, byte-level BPE vocabulary of {config.vocab_size} (trained on the same data).

## Training
AdamW (weight decay 0.05), dropout {config.dropout}, warmup {metrics['args']['warmup']} steps, constant {metrics['args']['lr']}, cosine decay over the
last {int(metrics['args']['decay_fraction'] * 100)}% of steps, gradient clipping 1.0, batches of ~{metrics['args']['batch_tokens']} tokens.
{metrics['steps']} steps, {metrics['train_tokens_seen'] / 1e6:.2f}M tokens seen ({epochs:.2f} epochs of
{metrics['train_input_tokens_per_epoch'] / 1e6:.2f}M tokens, {metrics['train_target_tokens_per_epoch'] / 1e6:.2f}M of them with a loss),
{hours:.2f} h on {metrics.get('hardware', '2 shared CPU cores')}.

Validation (5% of dialogues, chosen by sha1(id); {metrics['valid_windows']} windows): loss {final.get('valid_loss', float('nan')):.3f},
perplexity {final.get('valid_ppl', float('nan')):.1f} per target token.

## Data and licences
{DATA_TABLE}

The weights are derived from these datasets; see the project's NOTICE for attribution. The datasets
themselves are not included.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", default="tools/.work")
    parser.add_argument("--out", default="models")
    args = parser.parse_args()
    tokenizer_path = os.path.join(args.work, "tokenizer.json")
    for direction, (name, purpose) in MODELS.items():
        model, config, metrics = load(args.work, direction)
        out_dir = os.path.join(args.out, name)
        dialogue_format = {**FORMAT, "direction": direction}
        export_model(model, config, out_dir, tokenizer_path, dialogue_format, GENERATION, TOKENIZER_CONFIG)
        with open(os.path.join(out_dir, "MODEL_CARD.md"), "w", encoding="utf-8") as card:
            card.write(model_card(name, direction, purpose, config, metrics))
        print(f"exported {out_dir} (valid ppl {math.exp(metrics['final']['valid_loss']):.1f})", file=sys.stderr)


if __name__ == "__main__":
    main()
