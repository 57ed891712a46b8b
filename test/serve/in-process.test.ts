/**
 * The engine server in this process (real engine, real HTTP on loopback) where a test must see
 * inside it: a client that disconnects aborts its generation through the engine's AbortSignal,
 * and a server at its request limit answers 503 with Retry-After, which the client waits out.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { EngineServerClient, EngineServerConnection } from '../../core/engine/remote/index.js';
import { DecodeAbortedError } from '../../core/engine/scheduler.js';
import type { DecodeOptions, GenerateControl } from '../../core/engine/types.js';
import { createEngineServer, type EngineServer } from '../../core/serve/index.js';
import { capturingLogger } from '../helpers/log-lines.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';

let engine: LoadedDialogueEngine;
let server: EngineServer;
let url: string;
/** What the gated generate saw, and the gate that holds it until a test opens it. */
const calls: { signal: AbortSignal; result: Promise<unknown> }[] = [];
let gate: { open: () => void; opened: Promise<void> };
const called: (() => void)[] = [];

function newGate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  gate = { open, opened };
}


beforeAll(async () => {
  engine = await loadEngine(FIXTURE_MODEL, { device: 'cpu' });
  // The real engine, with its generate held at a gate (or until its request is aborted).
  const gated: LoadedDialogueEngine = Object.create(engine);
  gated.generate = (prompt, options, control: GenerateControl = {}) => {
    const signal = control.signal!;
    const result = Promise.race([gate.opened, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]).then(() => engine.generate(prompt, options, control));
    calls.push({ signal, result });
    called.shift()?.();
    return result;
  };
  server = createEngineServer({ engines: new Map([['tiny', gated]]), maxInFlight: 1, logger: pino({ level: 'silent' }) });
  url = await server.listen(0, '127.0.0.1');
});

afterAll(async () => {
  await server.close(1_000);
  await engine.dispose();
});

const DECODING: DecodeOptions = { strategy: 'sample', numCandidates: 4, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0, maxNewTokens: 8, seed: 1, beamWidth: 1, lengthPenalty: 1 };
const nextCall = () => new Promise<void>((resolve) => called.push(resolve));
const body = JSON.stringify({ prompt: 'Hello there', max_tokens: 8 });
const post = (signal?: AbortSignal) => fetch(`${url}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });

describe('the engine server in process', () => {
  it('aborts the engine’s generation when its client gives up on it (the remote engine’s AbortSignal)', async () => {
    newGate();
    const client = await EngineServerClient.connect({ url, timeoutMs: 30_000, retryForMs: 0 });
    gate.open();
    const remote = await client.engineFor(FIXTURE_MODEL, true)!;
    newGate();
    const controller = new AbortController();
    const started = nextCall();
    const prompt = remote.encodeTurns([{ role: 'user', text: 'hello' }]);
    const generation = remote.generate(prompt, { ...DECODING }, { signal: controller.signal });
    await started;
    controller.abort(new Error('the turn was cancelled'));
    await expect(generation).rejects.toBeInstanceOf(DecodeAbortedError);
    // On the server: the request's signal fired when the connection closed, and the engine dropped the job.
    const { signal, result } = calls.at(-1)!;
    await expect(result).rejects.toBeInstanceOf(DecodeAbortedError);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('the client disconnected');
    // The server goes on serving.
    gate.open();
    expect((await post()).status).toBe(200);
  });

  it('answers 503 with Retry-After at its request limit, and a client waits until it has room', async () => {
    newGate();
    const started = nextCall();
    const first = post();
    await started;
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');

    const { logger, lines } = capturingLogger();
    const connection = new EngineServerConnection({ url, timeoutMs: 30_000, retryForMs: 120_000, logger });
    const waiting = connection.post<{ choices: unknown[] }>('/completions', { prompt: 'Hello there', max_tokens: 4 });
    while (!lines.some((line) => line.msg.startsWith('engine server unavailable'))) await new Promise((resolve) => setTimeout(resolve, 10));
    gate.open();
    expect((await first).status).toBe(200);
    expect((await waiting).body.choices).toHaveLength(1);
  });
});
