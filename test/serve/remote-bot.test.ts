/**
 * A bot with `engine.url` against `banter engine serve` in a real process: its turns, MMI
 * reranking on the server's backward model included, equal a local bot's for the same seed; and
 * when the server is killed and restarted, a turn either fails with the bot's apology (retries
 * off) or waits for it and answers (retries on), and every bot recovers once it is back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import type { IncomingMessage, Turn } from '../../core/types.js';
import { createBackwardView } from '../../plugins/mmi/backward-view.js';
import { capturingLogger } from '../helpers/log-lines.js';
import { FIXTURE_MODEL, makeTestBot, type ConfigOverrides } from '../helpers/bot.js';
import { compileCli, freePort, startEngineProcess, type EngineProcess } from './engine-process.js';

const KEY = 'remote-bot-key-19c2';
let temp: string;
let backwardDir: string;

const message = (text: string, channel = 'c1'): IncomingMessage => ({ platform: 'test', channel, text, user: { id: 'u1', name: 'tester' } });

/** The same bot, with or without the engine server: MMI on the fixture's backward view. */
function settings(url?: string, retryForMs = 0): ConfigOverrides {
  return {
    engine: url ? { url, apiKey: KEY, retryForMs } : {},
    plugins: { mmi: { model: backwardDir } },
    selection: { weights: { avgLogprob: 1, mmi: 1 }, fallback: 'fallback' },
    decoding: { numCandidates: 6, seed: 7, maxNewTokens: 10, minNewTokens: 2 } as never,
  };
}


let compiled: ReturnType<typeof compileCli>;

beforeAll(async () => {
  compiled = compileCli();
  temp = await mkdtemp(join(tmpdir(), 'banter-remote-bot-'));
  backwardDir = await createBackwardView(FIXTURE_MODEL, join(temp, 'tiny-gpt2-backward'));
});

afterAll(async () => {
  compiled?.remove();
  await rm(temp, { recursive: true, force: true });
});

describe('a bot on the engine server', () => {
  let server: EngineProcess;
  let remote: Bot;
  let local: Bot;
  beforeAll(async () => {
    server = await startEngineProcess(compiled.cli, [FIXTURE_MODEL, backwardDir], { apiKey: KEY });
    remote = await makeTestBot(settings(server.url));
    local = await makeTestBot(settings());
  }, 180_000);
  afterAll(async () => {
    await remote?.stop();
    await local?.stop();
    await server?.stop();
  });

  it('runs both models there: the forward engine and MMI’s backward engine', async () => {
    expect(remote.engine.info.file).toBe(`${server.url} (model tiny-gpt2)`);
    expect((await remote.loadEngine(backwardDir)).info.file).toBe(`${server.url} (model tiny-gpt2-backward)`);
  });

  it('answers a conversation exactly as the same bot in-process does, MMI scores included', async () => {
    const seen = new Map<Bot, Turn[]>([
      [remote, []],
      [local, []],
    ]);
    for (const [bot, turns] of seen) bot.events.on('candidates', ({ turn }) => turns.push(turn));
    for (const text of ['hi, who are you?', 'where do you live?', 'do you like climbing?']) {
      const [there, here] = [await remote.handle(message(text)), await local.handle(message(text))];
      expect(there.kind).not.toBe('error');
      // Turn ids are random per turn; everything the user sees otherwise must match.
      expect({ ...there, turnId: undefined }).toEqual({ ...here, turnId: undefined });
    }
    const summary = (turns: Turn[]) => turns.map((turn) => turn.candidates.map((c) => ({ text: c.text, scores: c.scores, rejected: c.rejected })));
    const remoteTurns = seen.get(remote)!;
    expect(remoteTurns).toHaveLength(3);
    expect(remoteTurns.every((turn) => turn.candidates.some((c) => typeof c.scores.mmi === 'number'))).toBe(true);
    expect(summary(remoteTurns)).toEqual(summary(seen.get(local)!));
    const said = async (bot: Bot) => (await bot.conversation(message(''))).history.map(({ role, text }) => ({ role, text }));
    expect(await said(remote)).toHaveLength(6);
    expect(await said(remote)).toEqual(await said(local));
  });
});

describe('the engine server restarted mid-run', () => {
  it('fails a turn politely without retries, waits for the server with them, and recovers', async () => {
    const port = await freePort();
    let server = await startEngineProcess(compiled.cli, [FIXTURE_MODEL, backwardDir], { apiKey: KEY, port });
    const { logger, lines } = capturingLogger();
    const impatient = await makeTestBot(settings(server.url, 0));
    const patient = await makeTestBot({ ...settings(server.url, 180_000), log: { level: 'info' } }, { logger });
    try {
      expect((await impatient.handle(message('hello', 'a'))).kind).not.toBe('error');
      expect(await server.stop('SIGKILL')).toBeNull();

      // Retries off: the turn fails with the apology and leaves no trace in the history.
      const failed = await impatient.handle(message('are you there?', 'a'));
      expect(failed.kind).toBe('error');
      expect(failed.text).toMatch(/^Sorry, something went wrong/);
      expect((await impatient.conversation(message('', 'a'))).history.map((turn) => turn.text)).toEqual(['hello', expect.any(String)]);

      // Retries on: the turn waits while the server is down...
      const waiting = patient.handle(message('still there?', 'b'));
      while (!lines.some((line) => line.msg.startsWith('engine server unavailable'))) await new Promise((resolve) => setTimeout(resolve, 20));
      server = await startEngineProcess(compiled.cli, [FIXTURE_MODEL, backwardDir], { apiKey: KEY, port });
      // ...and is answered once it is back.
      const answered = await waiting;
      expect(answered.kind).not.toBe('error');
      expect(lines.some((line) => line.msg === 'engine server reachable again')).toBe(true);

      // The bot whose turn failed works again too.
      expect((await impatient.handle(message('back?', 'a'))).kind).not.toBe('error');
    } finally {
      await impatient.stop();
      await patient.stop();
      await server.stop();
    }
  });
});
