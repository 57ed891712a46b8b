"""Template placeholders left in generated dialogue data, cleaned and counted.

Synthetic-Persona-Chat was written by a language model that often left its template slots in the
text, in every bracket style and bare: "[user 1's name]", "(name)", "<name>", "{your name}",
"Hi, I'm User 2.", "user1". A model trained on them greets with "Hi, I'm user1." Name slots become
the speaker's deterministic name; stage directions ("[they walk together.]", "(user 1 looks for
user 2.)") are removed; any other slot ("[country]", "(user 1's hometown)", "[user1_job]") has no
good filler, so `has_unfillable_slot` lets the converter drop that dialogue.

`python3 tools/data/placeholders.py FILE.jsonl...` counts what is left in converted dialogues.
"""
from __future__ import annotations

import json
import re
import sys
from typing import Iterable, List

_OPEN, _CLOSE = r"[\[(<{]", r"[\])>}]"
# "user 1's name", "user1 name", "user_2", "name", "your name", "insert name", "username"
_NAME_SLOT = re.compile(
    _OPEN
    + r"\s*(?:user\s*_?([12])(?:'s)?(?:\s*_?name)?|(?:insert\s+)?(?:(?:your|their|my|his|her|the)\s+)?(?:user\s*)?name)\s*"
    + _CLOSE,
    re.IGNORECASE,
)
# Any square/angle/curly bracket pair, and parentheses that mention a speaker: slots or stage directions.
_BRACKETED = re.compile(r"\[[^\]]*\]|<[^<>]*>|\{[^{}]*\}|\([^()]*\buser\s*_?[12][^()]*\)", re.IGNORECASE)
# A slot is one short phrase; a stage direction has a verb and spaces; "(American)" in parentheses is prose.
_SLOT = re.compile(
    _OPEN + r"\s*user\s*_?[12](?:'s\s+|_)[a-z_ ]{1,25}\s*" + _CLOSE  # "(user 1's hometown)", "[user1_job]"
    + r"|[\[<{]\s*(?:[a-z_]{2,25}|(?:your|their|my)\s+[a-z_]{2,20})\s*[\]>}]",  # "[country]"
    re.IGNORECASE,
)
# "I'm [name]", "my name is (name)": an unnumbered slot right after these is the speaker's own name.
_SELF_INTRO = re.compile(r"(?:\bI'?m|\bI am|\bmy name is|\bmy name's|\bcall me|\bthis is)\s*$", re.IGNORECASE)
_BARE_USER = re.compile(r"\buser\s*_?([12])\b", re.IGNORECASE)
_ACTION = re.compile(r"\*[^*\n]{0,60}\*|(?:^|\s)\*+(?=\s|$)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:])")
_SPACES = re.compile(r"\s+")
_LEFTOVER_PUNCT = re.compile(r"^[\s,.;:]+|([,;:])\s*(?=[.!?])")

# What `count` reports as a placeholder in converted text: the forms above, whatever survived.
_ANY_PLACEHOLDER = re.compile(
    r"\[[^\]\u0080-\uffff]{1,40}\]"  # square brackets (not IPA: "[ˈleːɡo]")
    r"|<(?!\|)[^<>]{1,30}>|\{[^{}]{1,30}\}"
    r"|\([^()]{0,30}\buser\s*_?[12]\b[^()]{0,30}\)|\((?:\w+\s+){0,2}name\)"  # not "(trade name Zovirax)"
    r"|\buser\s*_?[12]\b",
    re.IGNORECASE,
)


def has_unfillable_slot(text: str) -> bool:
    """A slot that is not a name (a country, a job): no filler reads naturally."""
    return any(not _NAME_SLOT.fullmatch(m.group(0)) for m in _SLOT.finditer(text))


def clean_placeholders(text: str, names: List[str], speaker_index: int) -> str:
    """Name slots and bare "User 1"/"user2" -> names[0]/names[1]; other bracketed slots and
    stage directions removed. `speaker_index` (0 or 1) is who says `text`: a slot without a
    number ("[name]") is the other speaker's name, the one being addressed, unless the speaker
    introduces themselves with it ("Hi, I'm [name].")."""

    def name_for(match: re.Match) -> str:
        if match.group(1):
            return names[int(match.group(1)) - 1]
        own = _SELF_INTRO.search(match.string[: match.start()])
        return names[speaker_index] if own else names[1 - speaker_index]

    text = _NAME_SLOT.sub(name_for, text)
    text = _BRACKETED.sub(" ", text)
    text = _BARE_USER.sub(name_for, text)
    text = _ACTION.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _LEFTOVER_PUNCT.sub("", text).strip()


def count(texts: Iterable[str]) -> int:
    return sum(len(_ANY_PLACEHOLDER.findall(text)) for text in texts)


def dialogue_texts(dialogue: dict) -> List[str]:
    """Everything of a dialogue the model reads: turns, persona lines, knowledge."""
    texts = [turn["text"] for turn in dialogue["turns"]]
    texts += dialogue.get("persona", []) + dialogue.get("user_persona", []) + dialogue.get("knowledge", [])
    return texts + [k for turn in dialogue["turns"] for k in turn.get("knowledge", [])]


def main(paths: List[str]) -> None:
    for path in paths:
        by_source: dict = {}
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                dialogue = json.loads(line)
                by_source[dialogue["source"]] = by_source.get(dialogue["source"], 0) + count(dialogue_texts(dialogue))
        print(f"{path}: {sum(by_source.values())} placeholders {json.dumps(by_source)}")


if __name__ == "__main__":
    main(sys.argv[1:])
