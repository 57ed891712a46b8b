"""Converts ../shared/data into tools/.work/data/{train,valid}.jsonl (generic dialogue JSONL).

Usage: python3 tools/data/prepare.py [--data ../shared/data] [--out tools/.work/data]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import persona_chat  # noqa: E402
import sgd  # noqa: E402
import topical_chat  # noqa: E402
from dialogue_jsonl import is_validation  # noqa: E402

CONVERTERS = (("topical-chat", topical_chat), ("synthetic-persona-chat", persona_chat), ("sgd", sgd))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--out", default="tools/.work/data")
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

        for name, converter in CONVERTERS:
            per_source = {"train": 0, "valid": 0}
            for dialogue in converter.convert(args.data):
                if dialogue["id"] in seen:
                    raise ValueError(f"duplicate dialogue id {dialogue['id']}")
                seen.add(dialogue["id"])
                if len(dialogue["turns"]) < 2:
                    continue
                split = "valid" if is_validation(dialogue["id"]) else "train"
                (valid if split == "valid" else train).write(json.dumps(dialogue, ensure_ascii=False) + "\n")
                per_source[split] += 1
                counts[split] += 1
            print(f"{name}: {per_source['train']} train, {per_source['valid']} valid dialogues", file=sys.stderr)
    for split in ("train", "valid"):
        os.replace(os.path.join(args.out, f"{split}.jsonl.tmp"), os.path.join(args.out, f"{split}.jsonl"))
    print(f"total: {counts['train']} train, {counts['valid']} valid -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
