"""Turns generic dialogue JSONL into training windows: token ids + a loss mask.

Forward (generation) model, one sequence per dialogue: the bot's persona lines, then every turn in
order, each turn preceded by the knowledge it used; loss on the bot's reply tokens (text +
<|endoftext|>, not the given <|bot|> tag). When both speakers are people (`symmetric`), the user's
turns are human replies too: a dialogue with a persona for each speaker (Persona-Chat) is written
once from each viewpoint, with that speaker's persona and loss on that speaker's turns, so every
trained reply sees the persona it should use; one without personas (Topical-Chat) is written once
with a loss on both speakers' turns. Task-oriented users (SGD) get no loss: the bot should not learn
to talk like them.

Backward (MMI) model, p(source | response): the same turns in reverse order, no persona or
knowledge, loss on every token after the first turn, so it scores any earlier turns given a reply.

Dialogues longer than the window are cut at turn boundaries into windows that overlap by a few
turns of context; a reply is trained in the first window that holds it.

Focus windows (training only): each reply that uses its knowledge snippet or a persona line of its
speaker, alone with the persona and the turn before it. They are a small share of the data (a few
thousand replies among ~100k turns), and repeating them in short windows is what makes a small
model condition on persona and knowledge instead of ignoring them.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Iterable, List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))
from dialogue_jsonl import content_words  # noqa: E402

FORMAT = {
    "persona": "<|persona|>{text}",
    "knowledge": "<|knowledge|>{text}",
    # Knowledge is trained right before the turn that uses it: the engine puts it before the reply.
    "knowledgePlacement": "before-response",
    "user": "<|user|>{text}",
    "bot": "<|bot|>{text}<|endoftext|>",
    "responsePrefix": "<|bot|>",
    "end": "<|endoftext|>",
}
MAX_PERSONA_TOKENS = 80
MAX_TURN_TOKENS = 96
MAX_KNOWLEDGE_TOKENS = 64
OVERLAP_TURNS = 3
PERSONA_SHARED_WORDS = 2  # a reply "uses" a persona line when they share this many content words


@dataclass
class Segment:
    tokens: List[int]
    loss: List[bool]
    turn: int  # index of the turn this segment belongs to (-1: header)


class SequenceBuilder:
    def __init__(self, tokenizer, block_size: int):
        self.tok = tokenizer
        self.block = block_size
        self.bot = tokenizer.token_id("<|bot|>")
        self.user = tokenizer.token_id("<|user|>")
        self.persona = tokenizer.token_id("<|persona|>")
        self.knowledge = tokenizer.token_id("<|knowledge|>")
        self.end = tokenizer.token_id("<|endoftext|>")

    def _text(self, text: str, limit: int) -> List[int]:
        return self.tok.encode(text)[:limit]

    def _turn_segment(self, turn: dict, index: int, train: bool, with_knowledge: bool) -> Segment:
        text = self._text(turn["text"], MAX_TURN_TOKENS)
        tokens: List[int] = []
        loss: List[bool] = []
        if with_knowledge:
            for snippet in turn.get("knowledge", [])[:1]:
                k = [self.knowledge] + self._text(snippet, MAX_KNOWLEDGE_TOKENS)
                tokens += k
                loss += [False] * len(k)
        if turn["speaker"] == "bot":
            tokens += [self.bot] + text + [self.end]
            # Targets: the reply's text and its end token (the <|bot|> tag is given at inference).
            loss += [False] + [train] * (len(text) + 1)
        else:
            tokens += [self.user] + text
            loss += [False] + [train] * len(text)
        return Segment(tokens, loss, index)

    def _viewpoints(self, dialogue: dict) -> Iterable[Tuple[List[str], List[dict], bool]]:
        """(persona, turns, both speakers trained) for each way the dialogue is read."""
        symmetric = bool(dialogue.get("symmetric"))
        if symmetric and dialogue.get("persona") and dialogue.get("user_persona"):
            swap = {"user": "bot", "bot": "user"}
            yield dialogue["persona"], dialogue["turns"], False
            yield dialogue["user_persona"], [{**turn, "speaker": swap[turn["speaker"]]} for turn in dialogue["turns"]], False
        else:
            yield dialogue.get("persona", []), dialogue["turns"], symmetric

    def _header(self, persona: List[str]) -> List[int]:
        header: List[int] = []
        for line in persona:
            header += [self.persona] + self._text(line, MAX_PERSONA_TOKENS)
        return header[: MAX_PERSONA_TOKENS * 2]

    def forward_windows(self, dialogue: dict) -> Iterable[Tuple[List[int], List[bool]]]:
        for persona, turns, both_speakers in self._viewpoints(dialogue):
            segments = [
                self._turn_segment(t, i, t["speaker"] == "bot" or both_speakers, t["speaker"] == "bot" or both_speakers)
                for i, t in enumerate(turns)
            ]
            yield from self._windows(self._header(persona), segments)

    def focus_windows(self, dialogue: dict) -> Iterable[Tuple[List[int], List[bool]]]:
        for persona, turns, both_speakers in self._viewpoints(dialogue):
            persona_words = [content_words(line) for line in persona]
            header = self._header(persona)
            for i, turn in enumerate(turns):
                if not (turn["speaker"] == "bot" or both_speakers):
                    continue
                words = content_words(turn["text"])
                uses_persona = any(len(words & line) >= PERSONA_SHARED_WORDS for line in persona_words)
                if not (turn.get("knowledge") or uses_persona):
                    continue
                before = [self._turn_segment(turns[i - 1], i - 1, False, False)] if i > 0 else []
                reply = self._turn_segment(turn, i, True, True)
                tokens = header + [t for seg in before for t in seg.tokens] + reply.tokens
                loss = [False] * (len(tokens) - len(reply.loss)) + reply.loss
                if len(tokens) <= self.block:
                    yield tokens, loss[1:] + [False]

    def backward_windows(self, dialogue: dict) -> Iterable[Tuple[List[int], List[bool]]]:
        reversed_turns = list(reversed(dialogue["turns"]))
        segments = []
        for i, turn in enumerate(reversed_turns):
            seg = self._turn_segment(turn, i, True, False)
            segments.append(Segment(seg.tokens, [True] * len(seg.tokens), i))
        yield from self._windows([], segments, first_turn_is_context=True)

    def _windows(self, header: List[int], turns: List[Segment], first_turn_is_context: bool = False):
        start, trained_until = 0, 0
        while start < len(turns):
            tokens, loss = list(header), [False] * len(header)
            end = start
            while end < len(turns) and len(tokens) + len(turns[end].tokens) <= self.block:
                seg = turns[end]
                new = seg.turn >= trained_until
                if first_turn_is_context and end == start:
                    new = False  # the window's first turn is what the rest is conditioned on
                tokens += seg.tokens
                loss += [l and new for l in seg.loss]
                end += 1
            if end == start:  # one turn longer than the window: keep its head
                seg = turns[start]
                room = self.block - len(tokens)
                tokens += seg.tokens[:room]
                loss += seg.loss[:room]
                end = start + 1
            # Targets are shifted by one: token t predicts t+1, so the mask moves to the predicting position.
            targets_mask = loss[1:] + [False]
            if any(targets_mask):
                yield tokens, targets_mask
            trained_until = max(trained_until, end)
            if end >= len(turns):
                break
            start = max(start + 1, end - OVERLAP_TURNS)
