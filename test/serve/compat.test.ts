/**
 * The remote engine against a server that implements only plain completions (a llama.cpp-like
 * stand-in on loopback, backed by a real engine): what it lacks is found and reported at start, a
 * bot degrades where it can (N candidates as N requests) and fails at start where a plugin needs
 * what is missing (MMI's scoring) or the decoding does (beam search).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { EngineServerClient } from '../../core/engine/remote/index.js';
import type { Turn } from '../../core/types.js';
import { createBackwardView } from '../../plugins/mmi/backward-view.js';
import { capturingLogger } from '../helpers/log-lines.js';
import { FIXTURE_MODEL, makeTestBot } from '../helpers/bot.js';
import { compileCli, FIXTURES, freePort, ROOT } from './engine-process.js';
import { startLlamaCppStandIn, type LlamaCppStandIn } from './standins/llamacpp.js';

let temp: string;
let backwardDir: string;
let forward: LoadedDialogueEngine;
let backward: LoadedDialogueEngine;
let llama: LoadedDialogueEngine;
let standIn: LlamaCppStandIn;

let compiled: ReturnType<typeof compileCli>;

beforeAll(async () => {
  compiled = compileCli();
  temp = await mkdtemp(join(tmpdir(), 'banter-compat-'));
  backwardDir = await createBackwardView(FIXTURE_MODEL, join(temp, 'tiny-gpt2-backward'));
  forward = await loadEngine(FIXTURE_MODEL, { device: 'cpu' });
  backward = await loadEngine(backwardDir, { device: 'cpu' });
  llama = await loadEngine(join(FIXTURES, 'tiny-llama'), { device: 'cpu' });
  standIn = await startLlamaCppStandIn(new Map([['tiny-gpt2', forward], ['tiny-gpt2-backward', backward]]));
});

afterAll(async () => {
  compiled?.remove();
  await standIn?.close();
  for (const engine of [forward, backward, llama]) await engine?.dispose();
  await rm(temp, { recursive: true, force: true });
});

describe('a server with plain completions only', () => {
  it('is found to lack scoring, n > 1, logprobs, token ids and beam search, and to honour seeds', async () => {
    const client = await EngineServerClient.connect({ url: standIn.url, timeoutMs: 30_000, retryForMs: 0 });
    const engine = await client.engineFor(FIXTURE_MODEL, true)!;
    expect(engine.servedModel).toBe('tiny-gpt2');
    expect(engine.features).toEqual({
      server: 'llamacpp',
      tokenIdPrompts: true,
      sameTokenizer: true,
      choices: false,
      seed: 'honoured',
      generationLogprobs: false,
      tokenIdsOut: false,
      scoring: undefined,
      beam: false,
    });
    expect(engine.gaps.map((gap) => gap.feature).sort()).toEqual(['beam', 'choices', 'extensions', 'logprobs', 'score', 'token ids']);
    expect(engine.gaps.find((gap) => gap.feature === 'score')!.problem).toMatch(/Only no echo is supported/);
    expect(engine.gaps.find((gap) => gap.feature === 'choices')!.problem).toMatch(/Only one completion choice is allowed/);
    expect([...engine.missing.keys()].sort()).toEqual(['beam', 'score']);
    await expect(engine.score([{ context: [1, 2], continuation: [3] }])).rejects.toMatchObject({ code: 'engine_server_unsupported' });
  });

  it('runs a bot’s turns, its N candidates one request each, and reports the gaps at start', async () => {
    const { logger, lines } = capturingLogger();
    const bot = await makeTestBot(
      { engine: { url: standIn.url, retryForMs: 0 }, decoding: { numCandidates: 3, seed: 5, maxNewTokens: 8, minNewTokens: 1 } as never, log: { level: 'info' } },
      { logger },
    );
    const turns: Turn[] = [];
    bot.events.on('candidates', ({ turn }) => turns.push(turn));
    try {
      const reported = lines.filter((line) => line.msg.startsWith('engine server lacks')).map((line) => line.feature);
      expect(reported).toEqual(expect.arrayContaining(['score', 'choices', 'logprobs', 'beam']));
      const before = standIn.completions;
      const reply = await bot.handle({ platform: 'test', channel: 'c1', user: { id: 'u1', name: 'Ann' }, text: 'hello there' });
      expect(reply.kind).not.toBe('error');
      expect(turns[0].candidates).toHaveLength(3);
      expect(standIn.completions - before).toBe(3);
      expect(bot.engine.info.file).toContain(standIn.url);
    } finally {
      await bot.stop();
    }
  });

  it('stops a bot at start whose MMI model it serves without scoring', async () => {
    const start = makeTestBot({ engine: { url: standIn.url, retryForMs: 0 }, plugins: { mmi: { model: backwardDir } } });
    await expect(start).rejects.toThrow(/needs log-probability scoring \(echo \+ logprobs\), which the engine server lacks: .*Only no echo is supported/);
  });

  it('stops a bot at start that decodes with beam search', async () => {
    const start = makeTestBot({ engine: { url: standIn.url, retryForMs: 0 }, decoding: { strategy: 'beam' } as never });
    await expect(start).rejects.toThrow(/\/decoding\/strategy: decoding.strategy beam .* needs beam search, which the engine server lacks/);
  });

  it('stops a bot at start when the served model’s tokenizer is not the folder’s', async () => {
    const other = await startLlamaCppStandIn(new Map([['tiny-gpt2', llama]]));
    try {
      await expect(makeTestBot({ engine: { url: other.url, retryForMs: 0 } })).rejects.toThrow(/tokenizer for tiny-gpt2 is not the one in engine.model's folder/);
    } finally {
      await other.close();
    }
  });

  it('is reported by `banter engine check` as a bot finds it', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [compiled.cli, 'engine', 'check', '--url', standIn.url, '--model', FIXTURE_MODEL], { cwd: ROOT });
    expect(stdout).toMatch(/server\s+http:\/\/127\.0\.0\.1:\d+\/v1 \(llamacpp\)/);
    expect(stdout).toMatch(/scoring \(echo\+logprobs\)\s+no/);
    expect(stdout).toMatch(/n > 1 choices\s+no/);
    expect(stdout).toMatch(/seed\s+honoured/);
    expect(stdout).toMatch(/lacks score: .*Only no echo is supported -> score\(\) fails/);
  });

  it('fails at start, naming the server, when nothing answers at engine.url', async () => {
    const url = `http://127.0.0.1:${await freePort()}/v1`;
    const start = makeTestBot({ engine: { url, retryForMs: 0 } });
    await expect(start).rejects.toThrow(new RegExp(`/engine/url: cannot reach the engine server \\(GET ${url}/models\\): ECONNREFUSED`));
  });
});
