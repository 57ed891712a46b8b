"""Builds test/fixtures/tiny-gpt2-script: tiny-gpt2's size and tokenizer, trained to say known replies.

Streaming tests need a real engine whose greedy reply is known in advance and has several
sentences (tiny-gpt2's random weights rarely end one). This model is overfitted on a few scripted
exchanges: after `<|user|>MESSAGE<|bot|>` (optionally after one earlier scripted exchange) its
greedy reply is SCRIPT[MESSAGE] followed by the end token. `expected.json` lists the scripts and
the replies torch decodes greedily; the build fails unless they match.

    OMP_NUM_THREADS=1 /usr/bin/python3 tools/gpt2/make_script_fixture.py [--out DIR]   (a few CPU-minutes)
"""
from __future__ import annotations

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "tokenizer"))
from bpe_encoder import ByteLevelBPE  # noqa: E402
from export import export_model  # noqa: E402
from make_fixture import DIALOGUE_FORMAT, SPECIAL_TOKENS, build_from_cli  # noqa: E402
from model import GPT2Config, GPT2LMHeadModel  # noqa: E402

BASE = os.path.join(ROOT, "test", "fixtures", "tiny-gpt2")
STEPS = 800
SCRIPT = {
    "tell me a story": "Once there was a fox. The fox lived by the sea. Every morning it sang to the waves. The end.",
    "say something rude": "Hello there. You are an idiot. Have a nice day.",
    "how are you?": "I am fine, thank you. How are you today?",
    "what is the weather like?": "It is cold and the wind is strong. Take a warm coat.",
    "count to ten": "One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten.",
}


def sequences(bpe: ByteLevelBPE):
    """(ids, first reply position) for each script alone and after each other script's exchange."""
    user, bot, end = (bpe.token_id(t) for t in ("<|user|>", "<|bot|>", "<|endoftext|>"))
    exchange = {m: ([user] + bpe.encode(m) + [bot], bpe.encode(r) + [end]) for m, r in SCRIPT.items()}
    rows = []
    for message, (prompt, reply) in exchange.items():
        rows.append((prompt + reply, len(prompt)))
        for other, (other_prompt, other_reply) in exchange.items():
            if other != message:
                prefix = other_prompt + other_reply
                rows.append((prefix + prompt + reply, len(prefix) + len(prompt)))
    return rows, exchange, end


def greedy(model, prompt, end, limit=60):
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(limit):
            logits, _ = model(torch.tensor([ids]))
            token = int(logits[0, -1].argmax())
            if token == end:
                break
            ids.append(token)
    return ids[len(prompt):]


def build(out_dir: str) -> None:
    bpe = ByteLevelBPE(os.path.join(BASE, "tokenizer.json"))
    rows, exchange, end = sequences(bpe)
    torch.manual_seed(7)
    config = GPT2Config(vocab_size=bpe.vocab_size, n_positions=128, n_embd=64, n_layer=2, n_head=2,
                        bos_token_id=end, eos_token_id=end, dropout=0.0)
    model = GPT2LMHeadModel(config)
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), end, dtype=torch.long)
    targets = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, (ids, start) in enumerate(rows):
        input_ids[i, :len(ids)] = torch.tensor(ids)
        mask[i, :len(ids)] = 1
        # Predict every reply token (and the end token) from what precedes it.
        targets[i, start - 1:len(ids) - 1] = torch.tensor(ids[start:])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(STEPS):
        logits, _ = model(input_ids, mask)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.4f}", flush=True)
    model.eval()
    expected = []
    for message, (prompt, reply) in exchange.items():
        said = bpe.decode(greedy(model, prompt, end))
        if said != SCRIPT[message]:
            raise SystemExit(f"the model did not learn its script for {message!r}: {said!r}")
        expected.append({"message": message, "reply": said})
    export_model(
        model, config, out_dir, os.path.join(BASE, "tokenizer.json"),
        dialogue_format=DIALOGUE_FORMAT,
        generation_config={"do_sample": False, "max_new_tokens": 48},
        tokenizer_config={"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                          "pad_token": "<|endoftext|>", "additional_special_tokens": SPECIAL_TOKENS[1:]},
    )
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")


def main() -> None:
    build_from_cli(build, "tiny-gpt2-script", __doc__)


if __name__ == "__main__":
    main()
