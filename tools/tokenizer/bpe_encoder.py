"""Encodes text with a byte-level BPE tokenizer.json (as Hugging Face's ByteLevel + BPE would).

Special tokens are matched literally first; the rest goes through GPT-2's regex, the byte map and
rank-ordered merges, with a per-word cache (dialogue text repeats words a lot).
"""
from __future__ import annotations

import json
import os
import re
import sys
from typing import Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from train_bpe import GPT2_SPLIT, bytes_to_unicode  # noqa: E402


class ByteLevelBPE:
    def __init__(self, tokenizer_json_path: str):
        with open(tokenizer_json_path, encoding="utf-8") as source:
            spec = json.load(source)
        model = spec["model"]
        self.vocab: Dict[str, int] = model["vocab"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks: Dict[Tuple[str, str], int] = {pair: rank for rank, pair in enumerate(merges)}
        self.special: Dict[str, int] = {t["content"]: t["id"] for t in spec["added_tokens"]}
        self.byte_map = bytes_to_unicode()
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.unicode_to_byte = {c: b for b, c in self.byte_map.items()}
        self._special_split = re.compile("(" + "|".join(re.escape(t) for t in self.special) + ")")
        self._cache: Dict[str, List[int]] = {}

    def token_id(self, token: str) -> int:
        return self.special[token] if token in self.special else self.vocab[token]

    @property
    def vocab_size(self) -> int:
        return max(max(self.vocab.values()), max(self.special.values())) + 1

    def _encode_word(self, word: str) -> List[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = list(word)
        while len(symbols) > 1:
            best = min(
                ((self.ranks.get(pair, 1 << 30), i) for i, pair in enumerate(zip(symbols, symbols[1:]))),
            )
            if best[0] == 1 << 30:
                break
            i = best[1]
            symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
        ids = [self.vocab[s] for s in symbols]
        self._cache[word] = ids
        return ids

    def encode(self, text: str) -> List[int]:
        ids: List[int] = []
        for part in self._special_split.split(text):
            if not part:
                continue
            if part in self.special:
                ids.append(self.special[part])
                continue
            for piece in GPT2_SPLIT.findall(part):
                ids.extend(self._encode_word("".join(self.byte_map[b] for b in piece.encode("utf-8"))))
        return ids

    def decode(self, ids: List[int]) -> str:
        special_by_id = {i: t for t, i in self.special.items()}
        out: List[str] = []
        buffer = bytearray()
        for token_id in ids:
            if token_id in special_by_id:
                out.append(buffer.decode("utf-8", errors="replace"))
                buffer = bytearray()
                out.append(special_by_id[token_id])
            else:
                buffer.extend(self.unicode_to_byte[c] for c in self.id_to_token[token_id])
        out.append(buffer.decode("utf-8", errors="replace"))
        return "".join(out)
