"""Knowledge question-answer dialogues from the Topical-Chat Wikipedia lead sections.

Topical-Chat replies paraphrase their snippets loosely and only a few thousand turns can be matched
to one, too few for a small model to learn to *use* a snippet it is given. These short dialogues
supply that skill directly: the user asks about an entity of the reading sets, the knowledge is one
sentence of its lead section, and the bot answers with it; a follow-up asks for more and gets the
next sentence. Phrasings vary by a hash of the id, so the set is deterministic.
Id: `wiki-qa:<entity>:<section key>:<sentence index>`.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, Iterator, List, Set, Tuple

from dialogue_jsonl import make_dialogue, make_turn
from topical_chat import SPLITS, WIKI_KEYS, load_wiki, sentences

SENTENCES_PER_SECTION = 3
MAX_WORDS = 30  # a sentence must fit the trainer's knowledge budget whole, or the reply outruns it
QUESTIONS = (
    "Tell me about {entity}.",
    "What do you know about {entity}?",
    "Have you heard of {entity}?",
    "Do you know anything about {entity}?",
    "Can you tell me something about {entity}?",
    "I'm curious about {entity}. Any idea?",
)
FOLLOW_UPS = ("Tell me more.", "Interesting, what else?", "Oh really? Anything else?", "Cool. What else do you know?")
LEAD_INS = ("", "Yes! ", "Sure. ", "Well, ", "Oh, I know this one. ")


def pick(options: Tuple[str, ...], key: str) -> str:
    return options[int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % len(options)]


def entity_sections(data_root: str) -> Dict[str, Set[Tuple[str, int]]]:
    """entity name -> the (section key, section id) pairs the reading sets give for it."""
    base = os.path.join(data_root, "dialogue", "topical-chat", "reading-sets")
    found: Dict[str, Set[Tuple[str, int]]] = {}
    for split in SPLITS:
        with open(os.path.join(base, f"{split}.json"), encoding="utf-8") as source:
            for reading_set in json.load(source).values():
                for agent in ("agent_1", "agent_2"):
                    for factsheet in reading_set.get(agent, {}).values():
                        if not isinstance(factsheet, dict) or "entity" not in factsheet:
                            continue
                        for key in WIKI_KEYS:
                            if key in factsheet:
                                found.setdefault(factsheet["entity"], set()).add((key, factsheet[key]))
    return found


def convert(data_root: str) -> Iterator[dict]:
    wiki = load_wiki(data_root)
    for entity, sections in sorted(entity_sections(data_root).items()):
        for key, section_id in sorted(sections):
            text = wiki[key].get(section_id)
            if not text:
                continue
            lines: List[str] = [s for s in sentences(text) if 4 <= len(s.split()) <= MAX_WORDS]
            for index in range(min(SENTENCES_PER_SECTION, len(lines))):
                dialogue_id = f"wiki-qa:{entity}:{key}:{index}"
                first, turns = lines[index], []
                turns.append(make_turn("user", pick(QUESTIONS, dialogue_id).format(entity=entity)))
                turns.append(make_turn("bot", pick(LEAD_INS, dialogue_id + ":lead") + first, [first]))
                if index + 1 < len(lines):
                    second = lines[index + 1]
                    turns.append(make_turn("user", pick(FOLLOW_UPS, dialogue_id + ":more")))
                    turns.append(make_turn("bot", second, [second]))
                yield make_dialogue(dialogue_id, "wiki-qa", turns)
