/**
 * banter past one process, with real processes on loopback: one `banter engine serve` on the
 * fixture model, two `banter start` workers using it (engine.url) and sharing one real Redis
 * (history, conversation locks, admission, Slack event claims), reached through the web chat and
 * the Slack HTTP stand-in. A probe plugin in each worker appends every turn's start and end to one
 * file, so overlaps are read from the order of the lines, never from clocks.
 *
 * Needs a Redis: $REDIS_URL (CI sets it). Outside CI without it, the test is skipped with a note.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../adapters/web/protocol.js';
import { openHistoryStore, type HistoryStore } from '../../core/history/store.js';
import type { HistoryTurn } from '../../core/types.js';
import { eventCallback, postSigned, slackTs, SlackStandIn } from '../adapters/standins/slack.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';
import { ROOT, startChild, type RunningChild } from '../helpers/children.js';
import { freePort } from '../history/redis-server.js';

const CLI = join(ROOT, 'dist/core/cli/main.js');
const REDIS_URL = process.env.REDIS_URL;
const RUN = Date.now().toString(36);
const THINKING = '_thinking…_';
/** A worker that dies frees its conversations one lease later. */
const LEASE_MS = 1_500;
const WEB_CONVERSATIONS = 80;
const SLACK_CONVERSATIONS = 20;
const APOLOGY = /^Sorry, something went wrong/;

if (!REDIS_URL && !process.env.CI) {
  console.warn('test/scale/workers.test.ts skipped: set REDIS_URL to a running Redis (redis-server --port 6400 --save "" --daemonize yes) to run two workers and an engine server on it');
}

/**
 * A worker's web chat as its users see it: one WebSocket (one browser) per conversation, as the
 * adapter bounds the messages one browser may have waiting.
 */
class WebClient {
  private readonly sockets = new Map<string, Promise<WebSocket>>();

  constructor(private readonly url: string) {}

  /** Says `text` in conversation `id` and resolves with the reply (one message in flight per conversation). */
  async say(id: string, text: string): Promise<{ kind: string; text: string }> {
    const socket = await this.socket(id);
    const reply = new Promise<{ kind: string; text: string }>((resolve) => {
      const onFrame = (data: unknown) => {
        const frame = JSON.parse(String(data)) as ServerFrame;
        if ((frame.type !== 'reply-end' && frame.type !== 'error') || frame.conversation !== id) return;
        socket.off('message', onFrame);
        resolve(frame.type === 'error' ? { kind: 'error frame', text: frame.message } : { kind: frame.kind, text: frame.text });
      };
      socket.on('message', onFrame);
    });
    socket.send(JSON.stringify({ type: 'say', conversation: id, text }));
    return reply;
  }

  close(): void {
    for (const socket of this.sockets.values()) void socket.then((open) => open.terminate(), () => undefined);
  }

  private socket(id: string): Promise<WebSocket> {
    let socket = this.sockets.get(id);
    if (!socket) {
      const opening = new WebSocket(`${this.url.replace(/^http/, 'ws').replace(/\/$/, '')}/ws`);
      socket = new Promise((resolve, reject) => opening.once('open', () => resolve(opening)).once('error', reject));
      this.sockets.set(id, socket);
    }
    return socket;
  }
}

interface Worker {
  process: RunningChild;
  web: WebClient;
  slackUrl: string;
}

/** Turn starts and ends from the probe file: no conversation ever has two turns running, except a killed worker's that never ended. */
function overlapsIn(file: string): string[] {
  const running = new Map<string, string>();
  const dead = new Set<string>();
  const problems: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [event, pid, key] = line.split(' ');
    if (event === 'killed') {
      dead.add(pid);
      for (const [conversation, holder] of running) if (holder === pid) running.delete(conversation);
    } else if (event === 'start') {
      if (running.has(key)) problems.push(`${key}: a turn started in ${pid} while ${running.get(key)} ran one`);
      running.set(key, pid);
    } else if (event === 'end') running.delete(key);
  }
  return problems;
}

/** A history as its user and bot lines, checked to alternate (no lost or doubled half of a turn). */
function pairsOf(history: HistoryTurn[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < history.length; i += 2) {
    expect([history[i]?.role, history[i + 1]?.role]).toEqual(['user', 'bot']);
    pairs.push([history[i].text, history[i + 1].text]);
  }
  return pairs;
}

describe.skipIf(!REDIS_URL && !process.env.CI)('two workers and an engine server on one Redis (real processes)', () => {
  let dir: string;
  let probeFile: string;
  const redisUrl = `${(REDIS_URL ?? '').replace(/\/\d*$/, '')}/14`;
  let enginePort: number;
  let engine: RunningChild | undefined;
  let standIn: SlackStandIn;
  let history: HistoryStore;
  const workers: Worker[] = [];

  const startEngine = async () => {
    engine = startChild(CLI, ['engine', 'serve', '--model', FIXTURE_MODEL, '--port', String(enginePort), '--threads', '1', '--shutdown-grace', '2000', '--log-level', 'warn']);
    await engine.waitForLine((line) => line.startsWith('banter engine: serving'), 60_000);
  };

  const startWorker = async (index: number): Promise<Worker> => {
    const slackPort = await freePort();
    const config = join(dir, `worker-${index}.yaml`);
    writeFileSync(
      config,
      stringify({
        name: `scale-${RUN}`,
        engine: { model: FIXTURE_MODEL, url: `http://127.0.0.1:${enginePort}/v1`, retryForMs: 20_000, timeoutMs: 30_000 },
        decoding: { numCandidates: 2, maxNewTokens: 12 },
        history: { store: redisUrl, maxTurns: 100, maxTokens: 100_000 },
        coordination: { leaseMs: LEASE_MS, lockWaitMs: 60_000 },
        admission: { maxPerConversation: 0, maxPerUser: 0, maxTotal: 0 },
        log: { level: 'warn' },
        plugins: { './turn-probe.mjs': {} },
        adapters: {
          slack: { mode: 'http', botToken: standIn.botToken, signingSecret: standIn.signingSecret, port: slackPort, host: '127.0.0.1', apiUrl: standIn.apiUrl, stream: 'off' },
          web: { port: 0, shareConversations: true, maxSocketsPerAddress: 0 }, // every test browser is on loopback
        },
      }),
    );
    const child = startChild(CLI, ['start', '--config', config], { BANTER_TURN_LOG: probeFile });
    const line = await child.waitForLine((text) => text.startsWith('banter: web chat at '), 60_000);
    const web = new WebClient(line.slice('banter: web chat at '.length).trim());
    return { process: child, web, slackUrl: `http://127.0.0.1:${slackPort}/slack/events` };
  };

  const stored = async (key: string) => (await history.load(key))?.history ?? [];

  beforeAll(async () => {
    if (!REDIS_URL) throw new Error('REDIS_URL is not set: under CI the scale test needs the Redis that .ci/run starts');
    dir = mkdtempSync(join(tmpdir(), 'banter-scale-'));
    probeFile = join(dir, 'turns.log');
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`npx tsc -p tsconfig.build.json failed:\n${tsc.stdout}${tsc.stderr}`);
    writeFileSync(
      join(dir, 'turn-probe.mjs'),
      `import { appendFileSync } from 'node:fs';
const note = (event, key) => appendFileSync(process.env.BANTER_TURN_LOG, \`\${event} \${process.pid} \${key}\\n\`);
export default () => ({
  name: 'turn-probe',
  setup(bot) {
    bot.events.on('turn:start', ({ turn }) => note('start', turn.conversation.key));
    bot.events.on('turn:end', ({ turn }) => note('end', turn.conversation.key));
  },
});
`,
    );
    enginePort = await freePort();
    standIn = await SlackStandIn.start();
    history = await openHistoryStore(redisUrl, dir);
    await startEngine();
    workers.push(...(await Promise.all([startWorker(0), startWorker(1)])));
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers) {
      worker.web.close();
      worker.process.process.kill('SIGTERM');
      await worker.process.exited;
    }
    engine?.process.kill('SIGTERM');
    await engine?.exited;
    await history?.close();
    await standIn?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('100 conversations sent to both workers at once: every message answered once, turns never overlap, histories exact', async () => {
    const web = Array.from({ length: WEB_CONVERSATIONS }, async (_, i) => {
      const id = `w${RUN}-${i}`;
      // Both messages of a conversation at the same moment, one to each worker: the lock orders them.
      const texts = [`hello ${i}, from the first worker`, `and hi ${i} from the second`];
      const replies = await Promise.all(texts.map((text, w) => workers[w].web.say(id, text)));
      return { key: `web:${id}`, texts, replies };
    });
    const slack = Array.from({ length: SLACK_CONVERSATIONS }, async (_, i) => {
      const [first, second] = [workers[i % 2], workers[(i + 1) % 2]];
      const channel = `C${RUN.toUpperCase()}${i}`;
      const mention = eventCallback(standIn, { type: 'app_mention', channel, user: 'UALICE', text: `<@${standIn.botUserId}> slack question ${i}`, ts: slackTs() });
      const thread = mention.event.ts;
      const body = JSON.stringify(mention);
      // Slack's retry of the same event reaches the other worker while the first answers it.
      const acks = await Promise.all([
        postSigned(first.slackUrl, body, { secret: standIn.signingSecret }),
        postSigned(second.slackUrl, body, { secret: standIn.signingSecret, headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }),
      ]);
      const answered = () => standIn.messagesIn(channel, thread).filter((m) => m.text !== THINKING);
      await standIn.waitFor(`the answer in ${channel}`, () => answered().length >= 1);
      const followUp = eventCallback(standIn, { type: 'app_mention', channel, user: 'UALICE', text: `<@${standIn.botUserId}> a follow-up ${i}`, ts: slackTs(), thread_ts: thread });
      await postSigned(second.slackUrl, JSON.stringify(followUp), { secret: standIn.signingSecret });
      await standIn.waitFor(`the follow-up's answer in ${channel}`, () => answered().length >= 2);
      return { key: `slack:${channel}:${thread}`, acks: acks.map((r) => r.status), i, channel, thread };
    });
    const webResults = await Promise.all(web);
    const slackResults = await Promise.all(slack);

    for (const { key, texts, replies } of webResults) {
      expect(replies.map((r) => `${r.kind}: ${r.kind === 'model' ? '' : r.text}`)).toEqual(['model: ', 'model: ']);
      const pairs = pairsOf(await stored(key));
      // Both turns, each once, each with the reply its sender got, in the order the lock gave them.
      expect(pairs.map(([user]) => user).sort()).toEqual([...texts].sort());
      expect(new Map(pairs)).toEqual(new Map(texts.map((text, i) => [text, replies[i].text])));
    }
    // Let a second answer to a retried event show, if one were on its way.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const { key, acks, i, channel, thread } of slackResults) {
      expect(acks).toEqual([200, 200]);
      const answers = standIn.messagesIn(channel, thread).filter((m) => m.text !== THINKING);
      expect(answers).toHaveLength(2);
      const pairs = pairsOf(await stored(key));
      expect(pairs.map(([user]) => user)).toEqual([`slack question ${i}`, `a follow-up ${i}`]);
    }
    expect(overlapsIn(probeFile)).toEqual([]);
  }, 120_000);

  it('kill -9 of a worker mid-run: its conversations go on on the other after the lease, nothing lost or doubled', async () => {
    const [doomed, survivor] = workers;
    const ids = Array.from({ length: 24 }, (_, i) => `k${RUN}-${i}`);
    const seen = new Map<string, { kind: string; text: string }>();
    const first = ids.map((id, i) => doomed.web.say(id, `before the crash ${i}`).then((reply) => void seen.set(id, reply)));
    // Kill once some of these turns are answered and others are still running.
    await Promise.race([Promise.all(first), new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (seen.size < 4) return;
          clearInterval(check);
          resolve();
        }, 10);
      })]);
    doomed.process.process.kill('SIGKILL');
    // The scenario needs turns cut off mid-way: some conversations' locks die with the worker.
    expect(seen.size, 'every turn had finished before the kill').toBeLessThan(ids.length);
    await doomed.process.exited;
    appendFileSync(probeFile, `killed ${doomed.process.process.pid} -\n`);
    const after = await Promise.all(ids.map((id, i) => survivor.web.say(id, `after the crash ${i}`)));
    expect(after.map((reply) => reply.kind)).toEqual(ids.map(() => 'model'));
    for (const [i, id] of ids.entries()) {
      const pairs = pairsOf(await stored(`web:${id}`));
      const users = pairs.map(([user]) => user);
      // The survivor's turn is there once, last; the crashed turn at most once before it.
      expect(users.at(-1)).toBe(`after the crash ${i}`);
      expect(pairs.at(-1)![1]).toBe(after[i].text);
      expect(users.slice(0, -1).every((text) => text === `before the crash ${i}`)).toBe(true);
      expect(users.length).toBeLessThanOrEqual(2);
      // A reply the user saw before the crash is in the history, with its text.
      const delivered = seen.get(id);
      if (delivered) expect(pairs).toContainEqual([`before the crash ${i}`, delivered.text]);
    }
    expect(overlapsIn(probeFile)).toEqual([]);
    workers[0] = await startWorker(2);
  }, 120_000);

  it('the engine server restarted: turns under way wait (or apologise) and every conversation recovers', async () => {
    engine!.process.kill('SIGTERM');
    await engine!.exited;
    const ids = Array.from({ length: 8 }, (_, i) => `e${RUN}-${i}`);
    const during = Promise.all(ids.map((id, i) => workers[i % 2].web.say(id, `while the engine restarts ${i}`)));
    await startEngine();
    const replies = await during;
    // The workers did meet the outage (and rode it out, or apologised).
    expect(workers.map((worker) => worker.process.stderr()).join('')).toMatch(/engine server unavailable/);
    for (const reply of replies) {
      expect(['model', 'error']).toContain(reply.kind);
      if (reply.kind === 'error') expect(reply.text).toMatch(APOLOGY);
    }
    const later = await Promise.all(ids.map((id, i) => workers[(i + 1) % 2].web.say(id, `once it is back ${i}`)));
    expect(later.map((reply) => reply.kind)).toEqual(ids.map(() => 'model'));
    for (const [i, id] of ids.entries()) {
      const users = pairsOf(await stored(`web:${id}`)).map(([user]) => user);
      // An apology is not a turn: only answered messages are in the history.
      expect(users).toEqual([...(replies[i].kind === 'model' ? [`while the engine restarts ${i}`] : []), `once it is back ${i}`]);
    }
    expect(overlapsIn(probeFile)).toEqual([]);
  }, 120_000);
});
