/**
 * `banter engine serve` as a real process on the tiny fixtures, spoken to over loopback: by the
 * remote engine client (its candidates and scores must equal the local engine's for the same seed)
 * and by raw HTTP (the API's shapes, auth, bad requests, graceful shutdown).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { EngineServerClient, type RemoteDialogueEngine } from '../../core/engine/remote/index.js';
import type { DecodeOptions } from '../../core/engine/types.js';
import { createBackwardView } from '../../plugins/mmi/backward-view.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { compileCli, FIXTURES, ROOT, startEngineProcess, type EngineProcess } from './engine-process.js';

const KEY = 'test-engine-key-7f3a';
const GPT2 = join(FIXTURES, 'tiny-gpt2');
const LLAMA = join(FIXTURES, 'tiny-llama');

const DECODING: DecodeOptions = {
  strategy: 'sample',
  numCandidates: 5,
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  repetitionPenalty: 1.2,
  noRepeatNgramSize: 3,
  minNewTokens: 2,
  maxNewTokens: 14,
  seed: 11,
  beamWidth: 3,
  lengthPenalty: 1,
};

let temp: string;
let backwardDir: string;
let server: EngineProcess;
const local = new Map<string, LoadedDialogueEngine>();
const remote = new Map<string, RemoteDialogueEngine>();

async function api(path: string, init: { method?: string; body?: unknown; raw?: string; key?: string | null } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = init.key === undefined ? KEY : init.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const base = server.url.replace(/\/v1$/, '');
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

let compiled: ReturnType<typeof compileCli>;

beforeAll(async () => {
  compiled = compileCli();
  temp = await mkdtemp(join(tmpdir(), 'banter-serve-'));
  backwardDir = await createBackwardView(GPT2, join(temp, 'tiny-gpt2-backward'));
  server = await startEngineProcess(compiled.cli, [GPT2, `llama=${LLAMA}`, backwardDir], { apiKey: KEY });
  const client = await EngineServerClient.connect({ url: server.url, apiKey: KEY, timeoutMs: 60_000, retryForMs: 0 });
  for (const [name, folder, served] of [['gpt2', GPT2, 'tiny-gpt2'], ['llama', LLAMA, 'llama'], ['backward', backwardDir, 'tiny-gpt2-backward']] as const) {
    local.set(name, await loadEngine(folder, { device: 'cpu' }));
    const connected = await EngineServerClient.connect({ url: server.url, apiKey: KEY, timeoutMs: 60_000, retryForMs: 0, servedModel: served });
    remote.set(name, await connected.engineFor(folder, true)!);
  }
  expect(client.models.map((model) => model.id)).toEqual(['tiny-gpt2', 'llama', 'tiny-gpt2-backward']);
}, 180_000);

afterAll(async () => {
  compiled?.remove();
  await server?.stop('SIGKILL');
  for (const engine of local.values()) await engine.dispose();
  await rm(temp, { recursive: true, force: true });
});

describe('the remote engine against banter engine serve', () => {
  it('finds every feature on banter’s own server', () => {
    for (const engine of remote.values()) {
      expect(engine.gaps).toEqual([]);
      expect(engine.features).toMatchObject({ server: 'banter', tokenIdPrompts: true, sameTokenizer: true, choices: true, seed: 'honoured', scoring: { maxTokens: 0, batch: true }, beam: true });
      expect(engine.missing.size).toBe(0);
    }
  });

  it.each(['gpt2', 'llama'])('generates exactly the local engine’s candidates for the same seed (%s: sample, greedy, beam)', async (name) => {
    const [here, there] = [local.get(name)!, remote.get(name)!];
    const prompt = here.encodeDialogue({ persona: [], knowledge: [], history: [{ role: 'user', text: 'hi, where do you live?', at: 0 }] }, DECODING.maxNewTokens).tokens;
    expect(there.encodeDialogue({ persona: [], knowledge: [], history: [{ role: 'user', text: 'hi, where do you live?', at: 0 }] }, DECODING.maxNewTokens).tokens).toEqual(prompt);
    for (const strategy of ['sample', 'greedy', 'beam'] as const) {
      const options = { ...DECODING, strategy };
      const expected = await here.generate(prompt, options);
      expect(await there.generate(prompt, options)).toEqual(expected);
    }
    // Temperature 0 while sampling: N copies of the greedy candidate, as locally.
    const cold = { ...DECODING, temperature: 0 };
    expect(await there.generate(prompt, cold)).toEqual(await here.generate(prompt, cold));
  });

  it.each(['gpt2', 'llama', 'backward'])('scores exactly what the local engine scores (%s), empty and over-long contexts included', async (name) => {
    const [here, there] = [local.get(name)!, remote.get(name)!];
    const context = here.encodeTurns([{ role: 'user', text: 'what is the tallest mountain?' }]);
    const window = here.info.contextWindow;
    const long = Array.from({ length: window + 20 }, (_, i) => context[i % context.length]);
    const pairs = [
      { context, continuation: here.tokenizer.encode(' Everest, I think.') },
      { context: [], continuation: here.tokenizer.encode('hello') },
      { context: long, continuation: here.tokenizer.encode(' fine') },
      { context, continuation: [] },
    ];
    const scores = await there.score(pairs);
    expect(scores).toEqual(await here.score(pairs));
    expect(scores[3]).toBe(0);
    expect(scores.slice(0, 3).every((score) => score < 0)).toBe(true);
  });

  it('is reported complete by `banter engine check`', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [compiled.cli, 'engine', 'check', '--url', server.url, '--model', LLAMA, '--served-model', 'llama', '--api-key-env', 'CHECK_KEY'], {
      cwd: ROOT,
      env: { ...process.env, CHECK_KEY: KEY },
    });
    expect(stdout).toMatch(/scoring \(echo\+logprobs\)\s+yes \(max_tokens 0, batched\)/);
    expect(stdout).toMatch(/OK: every engine feature banter uses works on this server/);
  });

  it('rejects a continuation longer than the window as the local engine does', async () => {
    const there = remote.get('gpt2')!;
    const continuation = Array.from({ length: there.info.contextWindow + 1 }, () => 5);
    await expect(there.score([{ context: [1], continuation }])).rejects.toThrow(/does not fit the model's context window/);
  });
});

describe('the OpenAI-compatible API', () => {
  const prompt = 'Hello, how are you?';

  it('lists its models with their context windows, and tokenizes as the folder does', async () => {
    const models = await api('/v1/models');
    expect(models.status).toBe(200);
    expect(models.body.data.map((card: { id: string; max_model_len: number }) => [card.id, card.max_model_len])).toEqual([
      ['tiny-gpt2', local.get('gpt2')!.info.contextWindow],
      ['llama', local.get('llama')!.info.contextWindow],
      ['tiny-gpt2-backward', local.get('backward')!.info.contextWindow],
    ]);
    const tokens = await api('/tokenize', { body: { model: 'llama', prompt } });
    expect(tokens.body.tokens).toEqual(local.get('llama')!.tokenizer.encode(prompt));
    const text = await api('/detokenize', { body: { model: 'llama', tokens: tokens.body.tokens } });
    expect(text.body.prompt).toBe(local.get('llama')!.tokenizer.decode(tokens.body.tokens, { keepSpecial: true }));
  });

  it('answers text and token-id prompts, single and batched, with n choices per prompt', async () => {
    const ids = local.get('gpt2')!.tokenizer.encodeMarkup(prompt);
    const byText = await api('/v1/completions', { body: { model: 'tiny-gpt2', prompt: [prompt, 'Where are you?'], n: 3, max_tokens: 6, seed: 4, return_tokens_as_token_ids: true, logprobs: 0 } });
    expect(byText.status).toBe(200);
    expect(byText.body.object).toBe('text_completion');
    expect(byText.body.choices.map((choice: { index: number }) => choice.index)).toEqual([0, 1, 2, 3, 4, 5]);
    const byIds = await api('/v1/completions', { body: { model: 'tiny-gpt2', prompt: ids, n: 3, max_tokens: 6, seed: 4, return_tokens_as_token_ids: true, logprobs: 0 } });
    expect(byIds.body.choices).toEqual(byText.body.choices.slice(0, 3));
    expect(byIds.body.usage).toEqual({ prompt_tokens: ids.length, completion_tokens: expect.any(Number), total_tokens: ids.length + byIds.body.usage.completion_tokens });
    for (const choice of byIds.body.choices) {
      expect(['stop', 'length']).toContain(choice.finish_reason);
      expect(choice.logprobs.tokens.every((token: string) => /^token_id:\d+$/.test(token))).toBe(true);
      expect(choice.logprobs.token_logprobs.every((value: number) => value <= 0)).toBe(true);
    }
  });

  it('scores a prompt with echo + logprobs + max_tokens 0, as local score() does, with top alternatives', async () => {
    const engine = local.get('gpt2')!;
    const ids = engine.tokenizer.encodeMarkup(prompt);
    const answer = await api('/v1/completions', { body: { model: 'tiny-gpt2', prompt: ids, echo: true, logprobs: 2, max_tokens: 0 } });
    const [choice] = answer.body.choices;
    expect(choice.text).toBe(engine.tokenizer.decode(ids, { keepSpecial: true }));
    expect(choice.logprobs.token_logprobs[0]).toBeNull();
    expect(choice.logprobs.token_logprobs).toHaveLength(ids.length);
    expect(choice.logprobs.top_logprobs[0]).toBeNull();
    const [expected] = await engine.score([{ context: ids.slice(0, 1), continuation: ids.slice(1) }]);
    const summed = (choice.logprobs.token_logprobs.slice(1) as number[]).reduce((sum, value) => sum + value, 0);
    expect(summed).toBe(expected);
    for (const [i, alternatives] of (choice.logprobs.top_logprobs.slice(1) as Record<string, number>[]).entries()) {
      const values = Object.values(alternatives);
      expect(values.length === 2 || values.length === 3).toBe(true);
      expect(Math.max(...values)).toBeGreaterThanOrEqual(choice.logprobs.token_logprobs[i + 1]);
    }
  });

  it('cuts completions at a stop string and says so', async () => {
    const body = { model: 'tiny-gpt2', prompt, max_tokens: 20, min_tokens: 20, temperature: 0, logprobs: 0, return_tokens_as_token_ids: true };
    const full = (await api('/v1/completions', { body })).body.choices[0];
    const stop = full.text.slice(3, 5);
    const cut = (await api('/v1/completions', { body: { ...body, stop: [stop] } })).body.choices[0];
    expect(cut.finish_reason).toBe('stop');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(cut.logprobs.tokens.length).toBeLessThan(full.logprobs.tokens.length);
  });

  it('keeps the n of best_of samples with the best mean log-probability, and stops only at the model’s end tokens', async () => {
    const engine = local.get('gpt2')!;
    const ids = engine.tokenizer.encodeMarkup(prompt);
    const answer = await api('/v1/completions', { body: { model: 'tiny-gpt2', prompt: ids, n: 2, best_of: 5, max_tokens: 6, seed: 9, return_tokens_as_token_ids: true, logprobs: 0 } });
    const all = await engine.generate(ids, { ...DECODING, numCandidates: 5, maxNewTokens: 6, seed: 9, topK: 0, topP: 1, temperature: 1, repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0 });
    const best = [...all].sort((a, b) => b.avgLogprob - a.avgLogprob).slice(0, 2);
    expect(answer.body.choices.map((choice: { text: string }) => choice.text.trim())).toEqual(best.map((candidate) => candidate.text));
    expect((await api('/v1/completions', { body: { model: 'tiny-gpt2', prompt, stop_token_ids: engine.info.endTokens } })).status).toBe(200);
    const other = await api('/v1/completions', { body: { model: 'tiny-gpt2', prompt, stop_token_ids: [5] } });
    expect(other.status).toBe(400);
    expect(other.body.error.param).toBe('stop_token_ids');
  });

  it('runs beam search (use_beam_search, best_of as width) as the engine does', async () => {
    const engine = local.get('llama')!;
    const ids = engine.encodeTurns([{ role: 'user', text: 'hello' }]);
    const answer = await api('/v1/completions', {
      body: { model: 'llama', prompt: ids, use_beam_search: true, n: 2, best_of: 3, max_tokens: 8, logprobs: 0, return_tokens_as_token_ids: true },
    });
    const expected = await engine.generate(ids, { ...DECODING, strategy: 'beam', numCandidates: 2, beamWidth: 3, maxNewTokens: 8, minNewTokens: 0, noRepeatNgramSize: 0, repetitionPenalty: 1 });
    const texts = answer.body.choices.map((choice: { text: string }) => choice.text.trim());
    expect(texts).toEqual(expected.map((candidate) => candidate.text));
  });

  it('refuses requests without the bearer token, and never prints the token', async () => {
    expect((await api('/v1/models', { key: null })).status).toBe(401);
    const wrong = await api('/v1/completions', { key: 'not-the-key', body: { model: 'tiny-gpt2', prompt } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.type).toBe('authentication_error');
    expect((await api('/tokenize', { key: null, body: { prompt } })).status).toBe(401);
    // Health checks (load balancers) need no token.
    expect(await api('/health', { key: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
    const client = EngineServerClient.connect({ url: server.url, timeoutMs: 10_000, retryForMs: 0 });
    await expect(client).rejects.toMatchObject({ code: 'engine_server_auth' });
    expect(server.output()).not.toContain(KEY);
  });

  it.each([
    ['bad JSON', { raw: '{"prompt": "hi",' }, 400, /not valid JSON/],
    ['a JSON list', { raw: '[1, 2]' }, 400, /JSON object/],
    ['no prompt', { body: { model: 'tiny-gpt2' } }, 400, /prompt is required/],
    ['an empty prompt', { body: { model: 'tiny-gpt2', prompt: '' } }, 400, /must not be empty/],
    ['no model with several served', { body: { prompt } }, 400, /model is required/],
    ['an unknown model', { body: { model: 'gpt-5', prompt } }, 404, /does not exist here/],
    ['n: 0', { body: { model: 'tiny-gpt2', prompt, n: 0 } }, 400, /n must be an integer/],
    ['a negative temperature', { body: { model: 'tiny-gpt2', prompt, temperature: -1 } }, 400, /temperature/],
    ['top_p above 1', { body: { model: 'tiny-gpt2', prompt, top_p: 1.5 } }, 400, /top_p/],
    ['a token id outside the vocabulary', { body: { model: 'tiny-gpt2', prompt: [1, 99_999] } }, 400, /not a token id/],
    ['max_tokens 0 without echo', { body: { model: 'tiny-gpt2', prompt, max_tokens: 0 } }, 400, /only meaningful with echo/],
    ['min_tokens over max_tokens', { body: { model: 'tiny-gpt2', prompt, max_tokens: 2, min_tokens: 3 } }, 400, /min_tokens/],
    ['streaming', { body: { model: 'tiny-gpt2', prompt, stream: true } }, 400, /stream/],
    ['frequency_penalty', { body: { model: 'tiny-gpt2', prompt, frequency_penalty: 0.5 } }, 400, /repetition_penalty/],
    ['a prompt longer than the window', { body: { model: 'tiny-gpt2', prompt: Array.from({ length: 200 }, () => 5) } }, 400, /context window/],
  ])('answers %s with a clear %i', async (_name, request, status, message) => {
    const answer = await api('/v1/completions', request);
    expect(answer.status).toBe(status);
    expect(answer.body.error.message).toMatch(message);
  });

  it('refuses oversized bodies (413), unknown paths (404) and wrong methods (405), and keeps serving', async () => {
    const huge = JSON.stringify({ model: 'tiny-gpt2', prompt: 'x'.repeat(5 * 1024 * 1024) });
    expect((await api('/v1/completions', { raw: huge })).status).toBe(413);
    expect((await api('/v1/chat/completions', { body: {} })).status).toBe(404);
    expect((await api('/v1/completions', { method: 'GET' })).status).toBe(405);
    expect((await api('/health')).status).toBe(200);
    expect((await api('/v1/completions', { body: { model: 'tiny-gpt2', prompt, max_tokens: 2 } })).status).toBe(200);
  });
});

describe('graceful shutdown', () => {
  it('finishes the request in progress on SIGTERM, refuses new ones, and exits 0', async () => {
    const draining = await startEngineProcess(compiled.cli, [GPT2], { args: ['--shutdown-grace', '60000'] });
    const base = draining.url;
    const body = { prompt: Array.from({ length: 100 }, (_, i) => 10 + (i % 50)), n: 64, max_tokens: 27, min_tokens: 27, logprobs: 5 };
    const inFlight = fetch(`${base}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    let answered = false;
    void inFlight.finally(() => (answered = true));
    // Wait until the server has the request (or has already answered it), then ask it to stop.
    while (!answered) {
      const health = (await (await fetch(`${base.replace(/\/v1$/, '')}/health`)).json()) as { in_flight: number };
      if (health.in_flight > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const exit = draining.stop('SIGTERM');
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    const completion = (await answer.json()) as { choices: unknown[] };
    expect(completion.choices).toHaveLength(64);
    expect(await exit).toBe(0);
    await expect(fetch(`${base}/models`)).rejects.toThrow();
  });
});
