/**
 * The whole pipeline on a modern chat model (the Llama fixture, chat template): persona, grounding,
 * safety and MMI with a backward model of the same family score every candidate, the turn carries
 * the rendered prompt, and sampling, greedy and beam all answer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import type { Turn } from '../../core/types.js';
import { createBackwardView } from '../../plugins/mmi/backward-view.js';
import { makeTestBot } from '../helpers/bot.js';

const LLAMA = resolve(import.meta.dirname, '../fixtures/tiny-llama');
let temp: string;
let bot: Bot;
const turns: Turn[] = [];

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'banter-modern-bot-'));
  // A backward view of a Llama-family model: its own end token in a dialogue format that reads turns in reverse.
  const backward = await createBackwardView(LLAMA, join(temp, 'llama-backward'), {
    user: '{text}<|eot_id|>',
    bot: '{text}<|eot_id|>',
    responsePrefix: '',
    end: '<|eot_id|>',
  });
  bot = await makeTestBot({
    engine: { model: LLAMA },
    plugins: { safety: {}, persona: {}, grounding: {}, mmi: { model: backward } },
    selection: { weights: { avgLogprob: 1, mmi: 1 }, fallback: 'fallback' },
    decoding: { numCandidates: 4, seed: 3, maxNewTokens: 8, minNewTokens: 1 },
    presets: { default: 'mount-everest' },
  });
  bot.events.on('candidates', ({ turn }) => turns.push(turn));
});
afterAll(async () => {
  await bot?.stop();
  await rm(temp, { recursive: true, force: true });
});

describe('a bot on a Llama-family chat model', () => {
  it('runs every plugin on the candidates and shows the rendered chat prompt', async () => {
    const reply = await bot.handle({ platform: 'test', channel: 'c1', user: { id: 'u' }, text: 'How tall are you?' });
    expect(['model', 'fallback', 'evidence']).toContain(reply.kind);
    const turn = turns.at(-1)!;
    expect(turn.candidates).toHaveLength(4);
    expect(turn.promptText).toContain('<|start_header_id|>system<|end_header_id|>');
    expect(turn.promptText).toContain('How tall are you?');
    // The preset's persona is in the system message; retrieved evidence too.
    expect(turn.prompt.persona.length).toBeGreaterThan(0);
    expect(turn.evidence.length).toBeGreaterThan(0);
    for (const candidate of turn.candidates.filter((c) => !c.rejected)) {
      expect(Number.isFinite(candidate.scores.mmi)).toBe(true);
      expect(Object.keys(candidate.scores).some((name) => name.startsWith('safety.'))).toBe(true);
    }
  });

  it('answers with greedy and beam decoding too', async () => {
    for (const decoding of [{ strategy: 'greedy' }, { strategy: 'beam', beamWidth: 3, numCandidates: 3 }]) {
      const preset = bot.presets.get('mount-everest')!;
      const saved = preset.decoding;
      preset.decoding = { ...saved, ...decoding } as typeof saved;
      try {
        const reply = await bot.handle({ platform: 'test', channel: `c-${decoding.strategy}`, user: { id: 'u' }, text: 'Hello!' });
        expect(['model', 'fallback', 'evidence']).toContain(reply.kind);
        expect(turns.at(-1)!.candidates.length).toBe(decoding.strategy === 'greedy' ? 1 : 3);
      } finally {
        preset.decoding = saved;
      }
    }
  });
});
