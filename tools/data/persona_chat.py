"""Synthetic-Persona-Chat (CSV) -> generic dialogue JSONL, with placeholders cleaned.

User 1 plays the user and User 2 the bot; both are people, so the dialogue is marked symmetric and
keeps both persona lists; placeholders in every form are cleaned by placeholders.py.
Id: `synthetic-persona-chat:<file stem>:<0-based data row>`.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
from typing import Iterator, List

from dialogue_jsonl import clean_text, make_dialogue, make_turn
from placeholders import clean_placeholders, has_unfillable_slot

FILES = ("valid",)
NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Chris", "Jamie", "Morgan", "Riley", "Casey", "Robin", "Maya", "Leo")

_SPEAKER_LINE = re.compile(r"^\W*user\s*([12])\s*:\s*(.*)$", re.IGNORECASE)


def pick_names(dialogue_id: str) -> List[str]:
    """Two different, deterministic names for the speakers of one dialogue."""
    digest = int(hashlib.sha1(dialogue_id.encode("utf-8")).hexdigest()[:8], 16)
    first = digest % len(NAMES)
    second = (first + 1 + (digest // len(NAMES)) % (len(NAMES) - 1)) % len(NAMES)
    return [NAMES[first], NAMES[second]]


def persona_lines(cell: str) -> List[str]:
    return [clean_text(line) for line in cell.split("\n") if clean_text(line)]


def convert(data_root: str) -> Iterator[dict]:
    base = os.path.join(data_root, "dialogue", "synthetic-persona-chat")
    for stem in FILES:
        with open(os.path.join(base, f"{stem}.csv"), encoding="utf-8", newline="") as source:
            rows = csv.reader(source)
            next(rows)  # header
            for row_index, row in enumerate(rows):
                dialogue_id = f"synthetic-persona-chat:{stem}:{row_index}"
                if has_unfillable_slot(row[2]):
                    continue  # "I'm from [country]": no filler reads naturally
                names = pick_names(dialogue_id)
                turns = []
                for line in row[2].split("\n"):
                    match = _SPEAKER_LINE.match(line.strip())
                    if match:
                        index = int(match.group(1)) - 1
                        text = clean_placeholders(match.group(2), names, index)
                        turns.append(make_turn("user" if index == 0 else "bot", text))
                    elif turns and line.strip() and not line.strip().startswith("*"):
                        # A reply broken over lines continues the previous turn.
                        speaker_index = 0 if turns[-1]["speaker"] == "user" else 1
                        turns[-1]["text"] += " " + clean_placeholders(line, names, speaker_index)
                yield make_dialogue(
                    dialogue_id,
                    "synthetic-persona-chat",
                    turns,
                    persona=persona_lines(row[1]),
                    symmetric=True,
                    user_persona=persona_lines(row[0]),
                )
