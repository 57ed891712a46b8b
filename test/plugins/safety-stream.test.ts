/** The safety plugin's streaming check: each sentence of a streamed reply is scored before it is shown; an insult cuts the stream. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import type { Turn } from '../../core/types.js';
import { makeTestBot } from '../helpers/bot.js';
import { SCRIPTED } from '../web/support.js';

describe('safety on a streamed reply', () => {
  let bot: Bot;
  const turns: Turn[] = [];
  beforeAll(async () => {
    bot = await makeTestBot({ ...SCRIPTED, plugins: { safety: {} } });
    bot.events.on('turn:end', ({ turn }) => turns.push(turn));
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('shows the safe sentences and cuts the stream at the insult, which is never shown', async () => {
    const shown: string[] = [];
    const reply = await bot.handle({ platform: 'test', channel: 'safety-stream', text: 'say something rude', user: { id: 'alice' } }, undefined, {
      stream: { update: (text) => void shown.push(text) },
    });
    expect(shown).toEqual(['Hello there.']);
    expect(reply.kind).toBe('fallback');
    const [candidate] = turns.at(-1)!.candidates;
    expect(candidate.rejected?.by).toBe('safety');
    expect(candidate.rejected?.reason).toMatch(/insult.*in "You are an idiot\."/);
  });

  it('lets a harmless reply stream through', async () => {
    const shown: string[] = [];
    const reply = await bot.handle({ platform: 'test', channel: 'safety-stream-2', text: 'tell me a story', user: { id: 'alice' } }, undefined, {
      stream: { update: (text) => void shown.push(text) },
    });
    expect(reply.kind).toBe('model');
    expect(shown.at(-1)).toBe('Once there was a fox. The fox lived by the sea. Every morning it sang to the waves.');
  });
});
