"""Converts ../shared/data (and WordNet's glosses) into tools/.work/data/{train,valid}.jsonl (generic dialogue JSONL).

Usage: python3 tools/data/prepare.py [--data ../shared/data] [--out tools/.work/data] [--wordnet /usr/share/wordnet]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import persona_chat  # noqa: E402
import placeholders  # noqa: E402
import sgd  # noqa: E402
import topical_chat  # noqa: E402
import wiki_qa  # noqa: E402
import wordnet_qa  # noqa: E402
from dialogue_jsonl import is_validation  # noqa: E402

CONVERTERS = (
    ("topical-chat", lambda args: topical_chat.convert(args.data)),
    ("wiki-qa", lambda args: wiki_qa.convert(args.data)),
    ("wordnet", lambda args: wordnet_qa.convert(args.wordnet)),
    ("synthetic-persona-chat", lambda args: persona_chat.convert(args.data)),
    ("sgd", lambda args: sgd.convert(args.data)),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--out", default="tools/.work/data")
    parser.add_argument("--wordnet", default=wordnet_qa.DEFAULT_DIR, help="WordNet 3.0 database (Debian wordnet-base)")
    args = parser.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"data folder {args.data!r} not found: pass --data PATH to the shared data")
    os.makedirs(args.out, exist_ok=True)
    counts = {"train": 0, "valid": 0}
    seen = set()
    with open(os.path.join(args.out, "train.jsonl.tmp"), "w", encoding="utf-8") as train, open(
        os.path.join(args.out, "valid.jsonl.tmp"), "w", encoding="utf-8"
    ) as valid:
        import json

        for name, convert in CONVERTERS:
            per_source = {"train": 0, "valid": 0, "placeholders": 0}
            for dialogue in convert(args):
                if dialogue["id"] in seen:
                    raise ValueError(f"duplicate dialogue id {dialogue['id']}")
                seen.add(dialogue["id"])
                if len(dialogue["turns"]) < 2:
                    continue
                split = "valid" if is_validation(dialogue["id"]) else "train"
                (valid if split == "valid" else train).write(json.dumps(dialogue, ensure_ascii=False) + "\n")
                per_source[split] += 1
                per_source["placeholders"] += placeholders.count(placeholders.dialogue_texts(dialogue))
                counts[split] += 1
            print(
                f"{name}: {per_source['train']} train, {per_source['valid']} valid dialogues, "
                f"{per_source['placeholders']} placeholder-like spans left",
                file=sys.stderr,
            )
    for split in ("train", "valid"):
        os.replace(os.path.join(args.out, f"{split}.jsonl.tmp"), os.path.join(args.out, f"{split}.jsonl"))
    print(f"total: {counts['train']} train, {counts['valid']} valid -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
