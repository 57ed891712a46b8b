"""Builds test/fixtures/tiny-gpt2: a tiny random-weight GPT-2 in banter's dialogue format.

Deterministic (fixed seed). The folder is small enough to commit and is the bot's default model until
a trained one ships.  Usage: OMP_NUM_THREADS=2 /usr/bin/python3 tools/gpt2/make_fixture.py [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe_tokenizer import train_byte_level_bpe  # noqa: E402
from export import export_model  # noqa: E402
from model import GPT2Config, GPT2LMHeadModel  # noqa: E402

SPECIAL_TOKENS = ["<|endoftext|>", "<|user|>", "<|bot|>", "<|persona|>", "<|knowledge|>"]

DIALOGUE_FORMAT = {
    "persona": "<|persona|>{text}",
    "knowledge": "<|knowledge|>{text}",
    "user": "<|user|>{text}",
    "bot": "<|bot|>{text}<|endoftext|>",
    "responsePrefix": "<|bot|>",
    "end": "<|endoftext|>",
    "direction": "forward",
}

SAMPLE_TEXT = """
Hello! How are you today? I am fine, thank you. What would you like to talk about?
I like music, especially jazz and rock. Do you have a favourite band? I listen to the radio every morning.
Hi, I'm Mount Everest. What would you like to know about me? I am the highest mountain on Earth,
at 8,849 metres above sea level. People have climbed me since 1953, when Tenzing Norgay and Edmund
Hillary reached the summit. The weather on the mountain is cold and the wind is strong.
Can you recommend a song for a rainy day? Try something calm: a piano piece, or an acoustic guitar.
That sounds nice. Thanks for the recommendation! You're welcome. Is there anything else I can help with?
I don't know. Maybe tell me a story about the sea, the stars, or a dog who learnt to sing.
The quick brown fox jumps over the lazy dog. It's a beautiful day, isn't it? Yes, it really is.
We'll see you tomorrow then. Goodbye, and have a great evening!
"""


def build(out_dir: str) -> None:
    tokenizer = train_byte_level_bpe(SAMPLE_TEXT * 3, num_merges=300, special_tokens=SPECIAL_TOKENS)
    os.makedirs(out_dir, exist_ok=True)
    tokenizer_path = os.path.join(out_dir, "tokenizer.json")
    with open(tokenizer_path, "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    vocab = tokenizer["model"]["vocab"]
    eos = vocab["<|endoftext|>"]

    torch.manual_seed(1234)
    config = GPT2Config(vocab_size=len(vocab), n_positions=128, n_embd=64, n_layer=2, n_head=2,
                        bos_token_id=eos, eos_token_id=eos, dropout=0.0)
    model = GPT2LMHeadModel(config)
    # GPT-2's init gives a random model a nearly uniform next-token distribution. Wider projections,
    # a sharper final layer norm and a bias towards the end token give peaked distributions (so that
    # top-k / top-p boundaries matter) and replies that end within a few dozen tokens.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith((".c_attn.weight", ".c_fc.weight", ".c_proj.weight")):
                param.normal_(0.0, 0.1)
        model.transformer.ln_f.weight.mul_(20.0)
        end_embedding = model.transformer.wte.weight[eos]
        model.transformer.ln_f.bias.copy_(4.0 * end_embedding / end_embedding.pow(2).sum())
    export_model(
        model, config, out_dir, tokenizer_path,
        dialogue_format=DIALOGUE_FORMAT,
        generation_config={"do_sample": True, "top_k": 40, "top_p": 0.9, "temperature": 0.8,
                           "max_new_tokens": 24, "repetition_penalty": 1.1},
        tokenizer_config={"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                          "pad_token": "<|endoftext|>", "additional_special_tokens": SPECIAL_TOKENS[1:]},
    )


def build_from_cli(build_folder, fixture: str, description: str) -> None:
    """`--out DIR` (default test/fixtures/FIXTURE): builds the folder there and prints its size."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--out", default=os.path.join(root, "test", "fixtures", fixture))
    args = parser.parse_args()
    build_folder(args.out)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(json.dumps({"out": args.out, "bytes": total}))


def main() -> None:
    build_from_cli(build, "tiny-gpt2", __doc__)


if __name__ == "__main__":
    main()
