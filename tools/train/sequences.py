"""Turns generic dialogue JSONL into training windows: token ids + a loss mask.

Forward (generation) model, one sequence per dialogue: the bot's persona lines, then every turn in
order, each turn preceded by the knowledge it used; loss on the bot's reply tokens (text +
<|endoftext|>, not the given <|bot|> tag). When both speakers are people (Topical-Chat, Persona-Chat:
`symmetric`), the user's turns are human replies too and also carry a loss: one pass then trains every
reply of both speakers with its full history, the same signal as one sequence per viewpoint at half
the compute, which matters on a CPU budget. Task-oriented users (SGD) get no loss: the bot should not
learn to talk like them.

Backward (MMI) model, p(source | response): the same turns in reverse order, no persona or
knowledge, loss on every token after the first turn, so it scores any earlier turns given a reply.

Dialogues longer than the window are cut at turn boundaries into windows that overlap by a few
turns of context; a reply is trained in the first window that holds it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Tuple

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

    def forward_windows(self, dialogue: dict) -> Iterable[Tuple[List[int], List[bool]]]:
        header: List[int] = []
        for line in dialogue.get("persona", []):
            header += [self.persona] + self._text(line, MAX_PERSONA_TOKENS)
        header = header[: MAX_PERSONA_TOKENS * 2]
        symmetric = bool(dialogue.get("symmetric"))
        turns = [
            self._turn_segment(t, i, t["speaker"] == "bot" or symmetric, t["speaker"] == "bot" or symmetric)
            for i, t in enumerate(dialogue["turns"])
        ]
        yield from self._windows(header, turns)

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
