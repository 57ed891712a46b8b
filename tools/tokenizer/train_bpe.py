"""Trains a byte-level BPE tokenizer (GPT-2 style) and saves a Hugging Face tokenizer.json.

Efficient enough for a laptop: pre-tokenize with GPT-2's regex, count distinct words once, then merge
pairs with incremental updates (only words that contain the merged pair are touched).

Usage: python3 tools/tokenizer/train_bpe.py --data tools/.work/data/train.jsonl --out tools/.work/tokenizer.json
"""
from __future__ import annotations

import argparse
import collections
import heapq
import json
import re
import sys
from typing import Dict, Iterator, List, Tuple

SPECIAL_TOKENS = ("<|endoftext|>", "<|user|>", "<|bot|>", "<|persona|>", "<|knowledge|>")

# GPT-2's pre-tokenizer regex, with \p{L} / \p{N} written for Python's `re`.
GPT2_SPLIT = re.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
)


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible map from bytes to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(code) for code in codes)))


def training_texts(path: str) -> Iterator[str]:
    """Every text the model reads: turns, persona lines, knowledge snippets."""
    with open(path, encoding="utf-8") as source:
        for line in source:
            dialogue = json.loads(line)
            yield from dialogue.get("persona", [])
            yield from dialogue.get("user_persona", [])
            yield from dialogue.get("knowledge", [])
            for turn in dialogue["turns"]:
                yield turn["text"]
                yield from turn.get("knowledge", [])


def count_words(texts: Iterator[str]) -> collections.Counter:
    byte_map = bytes_to_unicode()
    counts: collections.Counter = collections.Counter()
    for text in texts:
        for piece in GPT2_SPLIT.findall(text):
            counts["".join(byte_map[b] for b in piece.encode("utf-8"))] += 1
    return counts


def train(word_counts: collections.Counter, num_merges: int) -> List[Tuple[str, str]]:
    words: List[List[str]] = [list(word) for word in word_counts]
    freqs: List[int] = list(word_counts.values())
    pair_counts: Dict[Tuple[str, str], int] = collections.defaultdict(int)
    pair_words: Dict[Tuple[str, str], set] = collections.defaultdict(set)
    for index, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += freqs[index]
            pair_words[pair].add(index)
    # Max-heap with lazy invalidation: entries are re-checked against pair_counts when popped.
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)
    merges: List[Tuple[str, str]] = []
    while len(merges) < num_merges and heap:
        negative, pair = heapq.heappop(heap)
        current = pair_counts.get(pair, 0)
        if current <= 0:
            continue
        if -negative != current:
            heapq.heappush(heap, (-current, pair))
            continue
        merges.append(pair)
        merged = pair[0] + pair[1]
        changed = set()
        for index in list(pair_words[pair]):
            symbols, freq = words[index], freqs[index]
            for old in zip(symbols, symbols[1:]):
                pair_counts[old] -= freq
                changed.add(old)
            rebuilt: List[str] = []
            position = 0
            while position < len(symbols):
                if position + 1 < len(symbols) and symbols[position] == pair[0] and symbols[position + 1] == pair[1]:
                    rebuilt.append(merged)
                    position += 2
                else:
                    rebuilt.append(symbols[position])
                    position += 1
            words[index] = rebuilt
            for new in zip(rebuilt, rebuilt[1:]):
                pair_counts[new] += freq
                pair_words[new].add(index)
                changed.add(new)
        del pair_counts[pair]
        del pair_words[pair]
        for changed_pair in changed:
            count = pair_counts.get(changed_pair, 0)
            if count > 0:
                heapq.heappush(heap, (-count, changed_pair))
            elif changed_pair in pair_counts:
                del pair_counts[changed_pair]
    return merges


def tokenizer_json(merges: List[Tuple[str, str]]) -> dict:
    byte_map = bytes_to_unicode()
    vocab: Dict[str, int] = {}
    for byte in range(256):
        vocab[byte_map[byte]] = len(vocab)
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    added = []
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
        added.append(
            {"id": vocab[token], "content": token, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
        )
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {**byte_level, "trim_offsets": False},
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [f"{left} {right}" for left, right in merges],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="generic dialogue JSONL (training split)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--vocab-size", type=int, default=8000)
    args = parser.parse_args()
    counts = count_words(training_texts(args.data))
    num_merges = args.vocab_size - 256 - len(SPECIAL_TOKENS)
    print(f"{len(counts)} distinct words, {sum(counts.values())} words; learning {num_merges} merges", file=sys.stderr)
    merges = train(counts, num_merges)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(tokenizer_json(merges), out, ensure_ascii=False)
    print(f"wrote {args.out}: vocab {256 + len(merges) + len(SPECIAL_TOKENS)}", file=sys.stderr)


if __name__ == "__main__":
    main()
