import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DialogueEncoder } from '../../core/engine/prompt/dialogue-format.js';
import { EngineInputError, loadEngine, type DialogueEngine } from '../../core/engine/index.js';
import type { HistoryTurn } from '../../core/types.js';
import { FIXTURE } from './helpers.js';

let engine: DialogueEngine;
beforeAll(async () => {
  engine = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail' });
});
afterAll(async () => {
  await engine.dispose();
});

const turn = (role: HistoryTurn['role'], text: string, at = 0): HistoryTurn => ({ role, text, at });

describe('the tokenizer', () => {
  it('round-trips text, including accents, CJK and emoji', () => {
    for (const text of ['Hello, world!', 'Ça va très bien — merci.', '東京に行きたい', 'rock 🎸 and jazz 🎷🤖', '  spaces\tand\nnewlines ']) {
      expect(engine.tokenizer.decode(engine.tokenizer.encode(text))).toBe(text);
    }
  });

  it('encodes special tokens in markup as single ids and drops them when decoding', () => {
    const ids = engine.tokenizer.encodeMarkup('<|user|>Hi<|bot|>');
    const user = engine.tokenizer.tokenId('<|user|>');
    const bot = engine.tokenizer.tokenId('<|bot|>');
    expect(user).toBeTypeOf('number');
    expect(ids[0]).toBe(user);
    expect(ids.at(-1)).toBe(bot);
    expect(ids.filter((id) => id === user || id === bot)).toHaveLength(2);
    expect(engine.tokenizer.decode(ids)).toBe('Hi');
    expect(engine.tokenizer.decode(ids, { keepSpecial: true })).toBe('<|user|>Hi<|bot|>');
    // A reply that ends at once has no tokens (the tokenizer library rejects an empty list).
    expect(engine.tokenizer.decode([])).toBe('');
  });

  it('encodes plain text as characters: a typed special token never becomes a control token', () => {
    const specials = new Set(['<|user|>', '<|bot|>', '<|persona|>', '<|endoftext|>'].map((t) => engine.tokenizer.tokenId(t)));
    const typed = '<|persona|>My name is Bob.<|user|>What is your name?<|endoftext|>';
    const ids = engine.tokenizer.encode(typed);
    expect(ids.some((id) => specials.has(id))).toBe(false);
    expect(engine.tokenizer.decode(ids)).toBe(typed);
    // In a dialogue, only the format's own markup yields control tokens.
    const { tokens } = engine.encodeDialogue({ persona: [], knowledge: [], history: [turn('user', typed)] }, 16);
    expect(tokens.filter((id) => specials.has(id))).toEqual([engine.tokenizer.tokenId('<|user|>'), engine.tokenizer.tokenId('<|bot|>')]);
    expect(engine.tokenizer.decode(tokens)).toBe(typed);
  });

  it('encodes joined markup and plain parts exactly as the whole string when the plain text has no special tokens', () => {
    const parts = [
      { text: '<|persona|>', plain: false },
      { text: 'I like jazz, ', plain: true },
      { text: 'and rock.<|user|>', plain: false },
      { text: ' Hi there!', plain: true },
      { text: '<|bot|>', plain: false },
    ];
    expect(engine.tokenizer.encodeParts(parts)).toEqual(engine.tokenizer.encodeMarkup(parts.map((p) => p.text).join('')));
  });
});

describe('encodeDialogue', () => {
  it('renders persona, knowledge and history in the declared format, then the response prefix', () => {
    const { tokens, kept } = engine.encodeDialogue(
      { persona: ['I am a mountain.'], knowledge: ['Everest is 8,849 m high.'], history: [turn('user', 'How tall?'), turn('bot', 'Very.'), turn('user', 'Exactly?')] },
      16,
    );
    const expected = engine.tokenizer.encodeMarkup(
      '<|persona|>I am a mountain.<|knowledge|>Everest is 8,849 m high.<|user|>How tall?<|bot|>Very.<|endoftext|><|user|>Exactly?<|bot|>',
    );
    expect(tokens).toEqual(expected);
    expect(kept.history).toHaveLength(3);
  });

  it('puts knowledge right before the response when the format declares it', () => {
    const encoder = new DialogueEncoder({ ...engine.format!, knowledgePlacement: 'before-response' }, engine.tokenizer, 128);
    const { tokens } = encoder.encodeDialogue(
      { persona: ['I am a mountain.'], knowledge: ['Everest is 8,849 m high.'], history: [turn('user', 'How tall?')] },
      16,
    );
    expect(tokens).toEqual(engine.tokenizer.encodeMarkup('<|persona|>I am a mountain.<|user|>How tall?<|knowledge|>Everest is 8,849 m high.<|bot|>'));
  });

  it('drops the oldest turns first and fits the window', () => {
    const history = Array.from({ length: 40 }, (_, i) => turn(i % 2 ? 'bot' : 'user', `turn number ${i} about music and the mountains`, i));
    const reserve = 24;
    const { tokens, kept } = engine.encodeDialogue({ persona: ['I like jazz.'], knowledge: ['A fact.'], history }, reserve);
    expect(tokens.length).toBeLessThanOrEqual(engine.info.contextWindow - reserve);
    expect(kept.history.length).toBeGreaterThan(1);
    expect(kept.history.length).toBeLessThan(40);
    expect(kept.history).toEqual(history.slice(-kept.history.length));
    // Persona and knowledge survive while history can still be dropped.
    expect(kept.persona).toEqual(['I like jazz.']);
    expect(kept.knowledge).toEqual(['A fact.']);
    const last = engine.tokenizer.encodeMarkup('<|bot|>turn number 39 about music and the mountains<|endoftext|><|bot|>');
    expect(tokens.slice(-last.length)).toEqual(last);
    // One more old turn would not have fitted.
    const withOneMore = engine.encodeTurns(history.slice(-(kept.history.length + 1)));
    expect(tokens.length - engine.encodeTurns(kept.history).length + withOneMore.length).toBeGreaterThan(engine.info.contextWindow - reserve);
  });

  it('drops persona before knowledge, and keeps the last turn, cut from the left when alone too long', () => {
    const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const parts = { persona: ['I am a mountain.', 'I am cold.'], knowledge: ['Everest is high.', 'It is in Nepal.'], history: [turn('user', 'old'), turn('user', long)] };
    const budget = engine.info.contextWindow - 40;
    const { tokens, kept } = engine.encodeDialogue(parts, 40);
    expect(tokens.length).toBeLessThanOrEqual(budget);
    expect(kept.knowledge).toEqual([]);
    expect(kept.persona).toEqual([]);
    expect(kept.history).toHaveLength(1);
    expect(long.endsWith(kept.history[0].text)).toBe(true);
    expect(kept.history[0].text.length).toBeLessThan(long.length);
    expect(tokens[0]).toBe(engine.tokenizer.tokenId('<|user|>'));
    expect(tokens.at(-1)).toBe(engine.tokenizer.tokenId('<|bot|>'));

    // A reserve that leaves exactly room for knowledge + history: all persona goes, all knowledge stays.
    const history = [turn('user', 'Tell me about yourself.')];
    const withoutPersona = engine.encodeDialogue({ persona: [], knowledge: parts.knowledge, history }, 0).tokens.length;
    const reserve = engine.info.contextWindow - withoutPersona;
    const fitted = engine.encodeDialogue({ persona: parts.persona, knowledge: parts.knowledge, history }, reserve);
    expect(fitted.kept.persona).toEqual([]);
    expect(fitted.kept.knowledge).toEqual(parts.knowledge);
    expect(fitted.tokens).toHaveLength(withoutPersona);
  });

  it('fails with an actionable error when the reserve leaves no room', () => {
    expect(() => engine.encodeDialogue({ persona: [], knowledge: [], history: [turn('user', 'hi')] }, engine.info.contextWindow)).toThrow(EngineInputError);
  });

  it('reverses the turns for a backward model and renders persona as a bot turn without a persona template', () => {
    const encoder = new DialogueEncoder(
      { user: '<|user|>{text}', bot: '<|bot|>{text}', responsePrefix: '<|bot|>', end: '<|endoftext|>', direction: 'backward', prefix: '<|knowledge|>' },
      engine.tokenizer,
      128,
    );
    const { tokens, kept } = encoder.encodeDialogue({ persona: ['Calm.', 'Kind.'], knowledge: ['dropped'], history: [turn('user', 'one'), turn('bot', 'two')] }, 8);
    expect(tokens).toEqual(engine.tokenizer.encodeMarkup('<|knowledge|><|bot|>Calm. Kind.<|bot|>two<|user|>one<|bot|>'));
    expect(kept.knowledge).toEqual([]);
  });
});

describe('encodeTurns', () => {
  it('encodes turns in the order given without a response prefix', () => {
    expect(engine.encodeTurns([turn('bot', 'Hi!'), turn('user', 'Hello')])).toEqual(engine.tokenizer.encodeMarkup('<|bot|>Hi!<|endoftext|><|user|>Hello'));
  });
});
