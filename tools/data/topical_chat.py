"""Topical-Chat (+ reading sets + entity Wikipedia sections) -> generic dialogue JSONL.

Each turn names the reading-set parts it used (`knowledge_source`: FS1..FS3, AS1.., Personal
Knowledge). The stored reading sets resolve FS parts to an entity's Wikipedia lead section (the fun
facts and article sections are stored only as ids, without text), so for each turn we attach the one
sentence of the speaker's lead sections that overlaps the message most (the parts it names first; any
part of its reading set when those share too little, since the labels miss some uses): a short
snippet the reply actually draws on, which teaches "knowledge -> response" without flooding the context.
"""
from __future__ import annotations

import json
import os
import re
from typing import Dict, Iterator, List, Optional

from dialogue_jsonl import clean_text, content_words, make_dialogue, make_turn

SPLITS = ("valid_freq", "valid_rare", "test_freq")
WIKI_KEYS = ("shortened_wiki_lead_section", "summarized_wiki_lead_section")
MIN_SHARED_WORDS = 3

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")
def sentences(section: str) -> List[str]:
    parts: List[str] = []
    for line in section.split("\n"):
        parts.extend(s for s in (clean_text(p) for p in _SENTENCE_END.split(line)) if s)
    return parts


def load_wiki(data_root: str) -> Dict[str, Dict[int, str]]:
    path = os.path.join(data_root, "knowledge", "topical-chat", "topicalchat_wiki.json")
    with open(path, encoding="utf-8") as source:
        wiki = json.load(source)
    # The file maps text -> id; invert it to resolve the reading sets' ids.
    return {key: {section_id: text for text, section_id in wiki[key].items()} for key in WIKI_KEYS}


def best_snippet(message: str, candidates: List[str]) -> Optional[str]:
    words = content_words(message)
    best, best_score = None, 0
    for sentence in candidates:
        score = len(words & content_words(sentence))
        if score > best_score:
            best, best_score = sentence, score
    return best if best_score >= MIN_SHARED_WORDS else None


def agent_sections(reading_set: dict, agent: str, wiki: Dict[str, Dict[int, str]]) -> Dict[str, List[str]]:
    sections: Dict[str, List[str]] = {}
    for part, factsheet in reading_set.get(agent, {}).items():
        for key in WIKI_KEYS:
            if key in factsheet and factsheet[key] in wiki[key]:
                sections[part] = sentences(wiki[key][factsheet[key]])
    return sections


def convert(data_root: str) -> Iterator[dict]:
    wiki = load_wiki(data_root)
    base = os.path.join(data_root, "dialogue", "topical-chat")
    for split in SPLITS:
        with open(os.path.join(base, f"{split}.json"), encoding="utf-8") as source:
            conversations = json.load(source)
        with open(os.path.join(base, "reading-sets", f"{split}.json"), encoding="utf-8") as source:
            reading_sets = json.load(source)
        for conversation_id, conversation in conversations.items():
            reading_set = reading_sets.get(conversation_id, {})
            sections = {agent: agent_sections(reading_set, agent, wiki) for agent in ("agent_1", "agent_2")}
            turns = []
            for message in conversation["content"]:
                text = clean_text(message["message"])
                candidates = [
                    sentence
                    for part in message.get("knowledge_source", [])
                    for sentence in sections[message["agent"]].get(part, [])
                ]
                everything = [sentence for part in sections[message["agent"]].values() for sentence in part]
                snippet = best_snippet(text, candidates) or best_snippet(text, everything)
                # agent_1 opens every conversation: it plays the user, agent_2 the bot.
                speaker = "user" if message["agent"] == "agent_1" else "bot"
                turns.append(make_turn(speaker, text, [snippet] if snippet else None))
            yield make_dialogue(f"topical-chat:{conversation_id}", "topical-chat", turns, symmetric=True)
