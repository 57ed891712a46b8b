"""The generic dialogue JSONL that banter's trainer reads (see tools/data/README.md).

Stdlib only, so any python3 can run the converters.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Iterable, List, Optional

VALIDATION_PERCENT = 5


def is_validation(dialogue_id: str) -> bool:
    """Deterministic split: the first 8 hex digits of sha1(id), as an integer, modulo 100 < 5.

    Anyone (the TypeScript tests included) can recompute it from the id alone.
    """
    digest = hashlib.sha1(dialogue_id.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100 < VALIDATION_PERCENT


_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


_WORD = re.compile(r"[a-z0-9']+")
_STOPWORDS = frozenset(
    "the a an and or but of to in on at for with from by is are was were be been being it its this that "
    "these those as not no do does did have has had i you he she we they them his her their our your my me "
    "so if then than there here what which who whom when where why how all any some can could would should "
    "will just also about into over more most very one two out up like know did yes yeah really think".split()
)


def content_words(text: str) -> set:
    """Lower-cased words of 3+ letters that are not stopwords: what two texts must share to be 'about' the same."""
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOPWORDS}


def make_turn(speaker: str, text: str, knowledge: Optional[List[str]] = None) -> dict:
    if speaker not in ("user", "bot"):
        raise ValueError(f"speaker must be 'user' or 'bot', got {speaker!r}")
    turn = {"speaker": speaker, "text": text}
    if knowledge:
        turn["knowledge"] = knowledge
    return turn


def merge_consecutive(turns: List[dict]) -> List[dict]:
    """Joins turns of the same speaker in a row, so speakers alternate (the model expects it)."""
    merged: List[dict] = []
    for turn in turns:
        if not turn["text"]:
            continue
        if merged and merged[-1]["speaker"] == turn["speaker"]:
            previous = merged[-1]
            previous["text"] = previous["text"] + " " + turn["text"]
            knowledge = previous.get("knowledge", []) + turn.get("knowledge", [])
            if knowledge:
                previous["knowledge"] = list(dict.fromkeys(knowledge))
        else:
            merged.append(dict(turn))
    return merged


def make_dialogue(
    dialogue_id: str,
    source: str,
    turns: List[dict],
    persona: Optional[List[str]] = None,
    knowledge: Optional[List[str]] = None,
    symmetric: bool = False,
    user_persona: Optional[List[str]] = None,
) -> dict:
    dialogue = {
        "id": dialogue_id,
        "source": source,
        "persona": persona or [],
        "knowledge": knowledge or [],
        "turns": merge_consecutive(turns),
    }
    if symmetric:
        # Both speakers are people: the trainer may also learn from the user's side.
        dialogue["symmetric"] = True
        dialogue["user_persona"] = user_persona or []
    return dialogue


def write_jsonl(path: str, dialogues: Iterable[dict]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for dialogue in dialogues:
            out.write(json.dumps(dialogue, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: str) -> List[dict]:
    with open(path, encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]
