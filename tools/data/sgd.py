"""Schema-Guided Dialogue (music, media, movies subset) -> generic dialogue JSONL.

The system is the bot. Ids are unique only within an SGD split: `sgd:<split>:<id>`. Not symmetric: the user side is task requests, not how a bot should talk.
"""
from __future__ import annotations

import json
import os
from typing import Iterator

from dialogue_jsonl import clean_text, make_dialogue, make_turn


def convert(data_root: str) -> Iterator[dict]:
    path = os.path.join(data_root, "dialogue", "sgd", "music-media-movies.jsonl")
    with open(path, encoding="utf-8") as source:
        for line in source:
            if not line.strip():
                continue
            record = json.loads(line)
            turns = [
                make_turn("bot" if turn["speaker"] == "system" else "user", clean_text(turn["text"]))
                for turn in record["turns"]
            ]
            yield make_dialogue(f"sgd:{record['split']}:{record['id']}", "sgd", turns)
