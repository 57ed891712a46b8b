"""Definition question-answer dialogues from WordNet 3.0 noun glosses (Debian `wordnet-base`).

Using a knowledge snippet means copying its rare words into the reply. The Topical-Chat sentences
are too few for that: a small model memorizes them and then recites a memorized sentence whatever
the snippet says. Tens of thousands of distinct glosses cannot be memorized, so the only way to
answer "What is a tarn?" from "<|knowledge|>A tarn is a mountain lake; ..." is to read it.
The bot answers with the snippet's first clause. A fixed quarter of the noun synsets (by a hash of
the offset) keeps this source from crowding out conversation.
Id: `wordnet:<noun synset offset>`.
"""
from __future__ import annotations

import hashlib
import os
import re
from typing import Iterator, List, Optional, Tuple

from dialogue_jsonl import make_dialogue, make_turn

DEFAULT_DIR = "/usr/share/wordnet"
SHARE_PERCENT = 25
MIN_WORDS, MAX_WORDS = 4, 30
QUESTIONS = (
    "What is {x}?",
    "What's {x}?",
    "Do you know what {x} is?",
    "Tell me about {x}.",
    "Have you heard of {x}?",
    "Can you explain what {x} is?",
)
LEAD_INS = ("", "Sure. ", "Yes! ", "Well, ", "I know that one. ")
_ARTICLE = re.compile(r"^(a|an|the|any|one)\s", re.IGNORECASE)


def digest(key: str) -> int:
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16)


def parse_line(line: str) -> Optional[Tuple[str, List[str], str]]:
    """(offset, words, definition) of one data.noun line; None for the licence header."""
    if line.startswith(" ") or "|" not in line:
        return None
    fields, gloss = line.split("|", 1)
    parts = fields.split()
    count = int(parts[3], 16)
    words = [parts[4 + 2 * i].replace("_", " ") for i in range(count)]
    definition = gloss.split('"', 1)[0].strip().rstrip(";").strip()  # drop the quoted examples
    return parts[0], words, definition


def with_article(name: str) -> str:
    if name[:1].isupper():
        return name  # a proper noun
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def convert(wordnet_dir: str = DEFAULT_DIR) -> Iterator[dict]:
    path = os.path.join(wordnet_dir, "data.noun")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: install WordNet with `apt-get install wordnet-base`")
    with open(path, encoding="utf-8", errors="replace") as source:
        for line in source:
            parsed = parse_line(line)
            if not parsed:
                continue
            offset, words, definition = parsed
            name = words[0]
            dialogue_id = f"wordnet:{offset}"
            if digest(dialogue_id + ":share") % 100 >= SHARE_PERCENT or any(c.isdigit() or c in "()" for c in name):
                continue
            if not _ARTICLE.match(definition) or not MIN_WORDS <= len(definition.split()) <= MAX_WORDS:
                continue
            subject = with_article(name)
            knowledge = f"{sentence_case(subject)} is {definition}."
            first_clause = definition.split(";", 1)[0].strip()
            lead = LEAD_INS[digest(dialogue_id + ":lead") % len(LEAD_INS)]
            answer = f"{subject if lead.endswith(', ') else sentence_case(subject)} is {first_clause}."
            question = QUESTIONS[digest(dialogue_id + ":q") % len(QUESTIONS)].format(x=subject)
            yield make_dialogue(dialogue_id, "wordnet", [
                make_turn("user", sentence_case(question)),
                make_turn("bot", lead + answer, [knowledge]),
            ])
