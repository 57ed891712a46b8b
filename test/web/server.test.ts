/** The web adapter's HTTP and WebSocket server, driven without a browser, on a real bot. */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import createWebAdapter, { type WebAdapter } from '../../adapters/web/index.js';
import { makeTestBot } from '../helpers/bot.js';
import { FaultyStore } from '../helpers/faulty-store.js';
import { openFeedbackStore } from '../../core/feedback/index.js';
import type { Plugin } from '../../core/types.js';
import { FrameClient, inspectorProbe, NUM_CANDIDATES, SCRIPTED, startWebBot, endWebTest, stopWebBot, upgradeRefusal, type WebBot } from './support.js';

let web: WebBot | undefined;
const clients: FrameClient[] = [];
afterEach(async () => {
  await endWebTest(clients, web);
  web = undefined;
});

/** Sends raw bytes over TCP and returns the response's status line. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(bytes));
    let response = '';
    socket.on('data', (chunk) => (response += chunk.toString()));
    socket.on('end', () => resolve(response.split('\r\n')[0]));
    socket.on('error', reject);
  });
}

/** A client's text frame, masked as the protocol requires, written by hand for a client that never reads. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([header, mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]))]);
}

async function until(check: () => boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The browser the tests' clients are, unless a test names another: its conversations are `web:TEST_CLIENT:ID`. */
const TEST_CLIENT = 't'.repeat(24);
const stored = (bot: WebBot['bot'], conversation: string) => bot.conversation({ platform: 'web', channel: TEST_CLIENT, thread: conversation });

async function connect(url: string, options: ConstructorParameters<typeof WebSocket>[2] = { headers: { Cookie: `banter_client=${TEST_CLIENT}` } }): Promise<FrameClient> {
  const client = await FrameClient.open(url, options);
  clients.push(client);
  return client;
}

describe('web adapter: HTTP', () => {
  it('serves the page and its assets with a strict CSP, and nothing else', async () => {
    web = await startWebBot();
    const page = await fetch(web.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('id="inspector"');
    const script = await fetch(new URL('app.js', web.url));
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect((await fetch(new URL('style.css', web.url))).status).toBe(200);
    expect((await fetch(new URL('secrets.txt', web.url))).status).toBe(404);
    expect((await fetch(web.url, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('reports the URL it listens on and refuses a port already in use with an actionable error', async () => {
    web = await startWebBot();
    const port = Number(new URL(web.url).port);
    expect(port).toBeGreaterThan(0);
    const second = createWebAdapter();
    await expect(second.start(web.bot, { port })).rejects.toThrow(/in use: set adapters\.web\.port/);
  });
});

describe('web adapter: from the bot config', () => {
  it('is found by name, validated with its schema and started by the bot', async () => {
    const bot = await makeTestBot({ adapters: { web: { port: 0, maxFrameBytes: 4096 } } });
    try {
      await bot.start();
      const adapter = bot.adapters.find((a) => a.name === 'web') as WebAdapter | undefined;
      expect(adapter).toBeDefined();
      const welcome = await FrameClient.open(adapter!.url.replace('http', 'ws') + 'ws');
      clients.push(welcome);
      expect((await welcome.take('welcome')).maxFrameBytes).toBe(4096);
    } finally {
      await bot.stop();
    }
  });

  it('fails at start with the config path when its section is invalid', async () => {
    await expect(makeTestBot({ adapters: { web: { port: 'eighty', colour: 'blue' } } })).rejects.toThrow(/adapters\/web/);
  });
});

describe('web adapter: chat over the socket', () => {
  it('sends a several-candidate reply whole, rateable, and the turn trace with every candidate', async () => {
    web = await startWebBot({}, [inspectorProbe()]);
    const client = await connect(web.socketUrl);
    const welcome = await client.take('welcome');
    expect(welcome.presets.map((p) => p.name).sort()).toEqual(web.bot.presets.list().map((p) => p.name).sort());
    expect(welcome.presets.find((p) => p.name === 'alpha')?.description).toBe('Alpha, a cheerful test persona');
    client.send({ type: 'join', conversation: 'c1' });
    const joined = await client.take('conversation');
    expect(joined.preset).toBe('alpha');
    expect(joined.greeting).toEqual([{ role: 'bot', text: "Hi, I'm Alpha. What would you like to talk about?" }]);
    expect(joined.history).toEqual([]);

    client.send({ type: 'say', conversation: 'c1', text: 'hello there' });
    expect((await client.take('user')).text).toBe('hello there');
    const end = await client.take('reply-end');
    // Selection needs every candidate: nothing streams, the page shows the stages meanwhile.
    expect(client.pending().filter((f) => f.type === 'reply-start' || f.type === 'reply-chunk')).toEqual([]);
    expect(client.pending().some((f) => f.type === 'stage' && f.stage === 'generate')).toBe(true);
    // Accepted first (the page shows it waiting for its turn), then the stages.
    expect(client.pending().filter((f) => f.type === 'waiting' || f.type === 'stage')[0]).toEqual({ type: 'waiting', conversation: 'c1' });
    expect(end.kind).toBe('model');
    expect(end.rateable).toBe(true);
    expect(end.citations).toEqual([{ title: 'Mount Everest', url: 'https://example.org/everest' }]);

    const { trace } = await client.take('trace');
    expect(trace.turnId).toBe(end.turnId);
    expect(trace.candidates).toHaveLength(NUM_CANDIDATES);
    expect(trace.candidates[1].rejected).toEqual({ by: 'probe', reason: 'safety.probe 0.10 > 0.05' });
    expect(trace.chosen).toBeGreaterThanOrEqual(0);
    expect(trace.candidates[trace.chosen].text).toBe(end.text);
    expect(typeof trace.candidates[trace.chosen].total).toBe('number');
    expect(Object.keys(trace.candidates[0].scores)).toEqual(expect.arrayContaining(['safety.probe', 'grounding.support']));
    expect(trace.prompt.persona).toEqual(['I am Alpha, a cheerful test bot.', 'I like mountains and music.']);
    expect(trace.prompt.knowledge).toEqual(['Mount Everest is 8,849 metres tall.']);
    expect(trace.prompt.history.at(-1)).toEqual({ role: 'user', text: 'hello there' });
    expect(trace.evidence[0].url).toBe('https://example.org/everest');
    // Every stage that did work is timed (no plugin here has an inspect hook).
    expect(new Set(trace.timings.map((t) => t.stage))).toEqual(new Set(['prompt', 'generate', 'score', 'filter', 'select', 'finalize']));
    expect(trace.timings.find((t) => t.stage === 'generate')).toMatchObject({ by: 'core', note: `${NUM_CANDIDATES} candidates` });
    expect(trace.ms).toBeGreaterThan(0);

    const saved = await stored(web.bot, 'c1');
    expect(saved.history.map((t) => t.text)).toEqual(['hello there', end.text]);
  });

  it('sends a conversation only to the sockets of that conversation', async () => {
    web = await startWebBot();
    // Two tabs of one browser (one cookie), and another browser.
    const browser = { headers: { Cookie: `banter_client=${'b'.repeat(24)}` } };
    const mine = await connect(web.socketUrl, browser);
    const other = await connect(web.socketUrl);
    const watcher = await connect(web.socketUrl, browser);
    other.send({ type: 'join', conversation: 'elsewhere' });
    await other.take('conversation');
    watcher.send({ type: 'join', conversation: 'c1' });
    await watcher.take('conversation');

    mine.send({ type: 'say', conversation: 'c1', text: 'hi' });
    await mine.take('trace');
    await watcher.take('trace');
    const leaked = other.pending().filter((f) => f.type !== 'welcome');
    expect(leaked).toEqual([]);
  });

  it('marks a fallback reply when every candidate is rejected', async () => {
    web = await startWebBot({}, [inspectorProbe()]);
    const client = await connect(web.socketUrl);
    client.send({ type: 'say', conversation: 'fb', text: 'please reject everything' });
    const end = await client.take('reply-end');
    expect(end.kind).toBe('fallback');
    const { trace } = await client.take('trace');
    expect(trace.chosen).toBe(-1);
    expect(trace.candidates.every((c) => c.rejected !== undefined)).toBe(true);
  });

  it('sends the trace of a failed turn with its error', async () => {
    const broken = { name: 'broken', score: () => { throw new Error('scorer exploded'); } };
    web = await startWebBot({}, [broken]);
    const client = await connect(web.socketUrl);
    client.send({ type: 'say', conversation: 'err', text: 'hello' });
    expect((await client.take('reply-end')).kind).toBe('error');
    const { trace } = await client.take('trace', (f) => f.trace.ms !== undefined);
    expect(trace.error).toBe('PluginError: plugin "broken" failed in its score hook: scorer exploded');
    expect(trace.candidates).toHaveLength(NUM_CANDIDATES);
  });

  it('switches preset and resets through the bot commands', async () => {
    web = await startWebBot();
    const client = await connect(web.socketUrl);
    client.send({ type: 'say', conversation: 'p1', text: 'hello' });
    await client.take('trace');

    client.send({ type: 'preset', conversation: 'p1', name: 'beta' });
    const note = await client.take('reply-end', (f) => f.kind === 'command');
    expect(note.text).toMatch(/beta/);
    const switched = await client.take('conversation', (f) => f.preset === 'beta');
    expect(switched.history).toEqual([]);
    expect(switched.greeting).toEqual([]);
    expect((await stored(web.bot, 'p1')).preset).toBe('beta');

    client.send({ type: 'say', conversation: 'p1', text: 'again' });
    await client.take('trace');
    expect((await stored(web.bot, 'p1')).history).toHaveLength(2);
    client.send({ type: 'reset', conversation: 'p1' });
    await client.take('reply-end', (f) => f.kind === 'command' && /cleared/i.test(f.text));
    const reset = await client.take('conversation', (f) => f.history.length === 0);
    expect(reset.preset).toBe('beta');
    expect((await stored(web.bot, 'p1')).history).toEqual([]);
  });
});

describe('web adapter: streaming and feedback', () => {
  const noInsults: Plugin = { name: 'no-insults', checkPartial: ({ sentence }) => (sentence.includes('idiot') ? { reason: 'calls someone an idiot' } : undefined) };
  const chunksOf = (client: FrameClient, streamId: string) =>
    client.pending().filter((f): f is Extract<typeof f, { type: 'reply-chunk' }> => f.type === 'reply-chunk' && f.streamId === streamId).map((f) => f.text);

  it('streams a one-candidate reply sentence by sentence over the socket, then sends it whole', async () => {
    web = await startWebBot({}, [noInsults], { config: SCRIPTED });
    const client = await connect(web.socketUrl);
    client.send({ type: 'say', conversation: 's1', text: 'tell me a story' });
    await until(() => client.pending().some((f) => f.type === 'reply-end'));
    // In order: the start, one chunk per checked sentence, then the whole reply.
    const frames = client.pending().filter((f) => f.type === 'reply-start' || f.type === 'reply-chunk' || f.type === 'reply-end');
    expect(frames.map((f) => f.type)).toEqual(['reply-start', 'reply-chunk', 'reply-chunk', 'reply-chunk', 'reply-end']);
    expect(new Set(frames.map((f) => (f as { streamId: string }).streamId)).size).toBe(1);
    const start = await client.take('reply-start');
    const end = await client.take('reply-end', (f) => f.streamId === start.streamId);
    expect(chunksOf(client, start.streamId)).toEqual(['Once there was a fox.', ' The fox lived by the sea.', ' Every morning it sang to the waves.']);
    expect(end.text).toBe('Once there was a fox. The fox lived by the sea. Every morning it sang to the waves. The end.');
    expect(end).toMatchObject({ kind: 'model', rateable: true });
  });

  it('cuts the stream at the first unsafe sentence; the fallback replaces what was shown', async () => {
    web = await startWebBot({}, [noInsults], { config: SCRIPTED });
    const client = await connect(web.socketUrl);
    client.send({ type: 'say', conversation: 's2', text: 'say something rude' });
    const start = await client.take('reply-start');
    const end = await client.take('reply-end', (f) => f.streamId === start.streamId);
    expect(chunksOf(client, start.streamId)).toEqual(['Hello there.']);
    expect(end.kind).toBe('fallback');
    expect(end.text).toBe(web.bot.config.selection.fallback);
  });

  it('does not stream when streaming is off', async () => {
    web = await startWebBot({ stream: false }, [], { config: SCRIPTED });
    const client = await connect(web.socketUrl);
    client.send({ type: 'say', conversation: 's3', text: 'tell me a story' });
    await client.take('reply-end');
    expect(client.pending().filter((f) => f.type === 'reply-start' || f.type === 'reply-chunk')).toEqual([]);
  });

  it('records 👍/👎 with a reason from the page, for the turn\'s own conversation only', async () => {
    const store = await openFeedbackStore('memory://', '.');
    web = await startWebBot({}, [inspectorProbe()], { feedback: store });
    const client = await connect(web.socketUrl);
    const otherTab = await connect(web.socketUrl);
    otherTab.send({ type: 'join', conversation: 'f1' });
    await otherTab.take('conversation');
    client.send({ type: 'say', conversation: 'f1', text: 'hello there' });
    const end = await client.take('reply-end');
    expect(end.rateable).toBe(true);

    client.send({ type: 'feedback', conversation: 'f1', turnId: end.turnId, rating: 'down' });
    expect(await client.take('feedback')).toMatchObject({ turnId: end.turnId, rating: 'down', ok: true });
    client.send({ type: 'feedback', conversation: 'f1', turnId: end.turnId, rating: 'down', reason: 'It did not answer.' });
    expect(await client.take('feedback')).toMatchObject({ ok: true, message: 'Thanks, noted.' });
    // The other tab of the same browser sees the rating too.
    expect((await otherTab.take('feedback')).rating).toBe('down');

    const [entry] = await store.feedback();
    expect(entry).toMatchObject({ turnId: end.turnId, rating: 'down', reason: 'It did not answer.', turn: { conversation: `web:${TEST_CLIENT}:f1`, message: 'hello there' } });
    expect(entry.turn.candidates).toHaveLength(NUM_CANDIDATES);
    expect(entry.user).not.toContain(TEST_CLIENT);

    // Another browser cannot rate this browser's reply, even knowing its turn id.
    const stranger = await connect(web.socketUrl, { headers: { Cookie: `banter_client=${'s'.repeat(24)}` } });
    stranger.send({ type: 'feedback', conversation: 'f1', turnId: end.turnId, rating: 'up' });
    expect(await stranger.take('feedback')).toMatchObject({ ok: false, message: 'That reply belongs to another conversation.' });
    expect((await store.feedback()).map((e) => e.rating)).toEqual(['down']);
    expect(client.pending().filter((f) => f.type === 'feedback')).toEqual([]);
  });
});

describe('web adapter: one client, one set of conversations', () => {
  it('names each browser with an HttpOnly, same-site cookie on the page', async () => {
    web = await startWebBot();
    const cookie = (await fetch(web.url)).headers.get('set-cookie');
    expect(cookie).toMatch(/^banter_client=[A-Za-z0-9_-]{16,64}; Path=\/; HttpOnly; SameSite=Strict/);
    // A browser that already has one keeps it.
    const again = await fetch(web.url, { headers: { Cookie: cookie!.split(';')[0] } });
    expect(again.headers.get('set-cookie')).toBeNull();
  });

  it('keeps a conversation to the client that created it: another one reads neither its history nor its traces by id', async () => {
    web = await startWebBot();
    const alice = { headers: { Cookie: `banter_client=${'a'.repeat(24)}` } };
    const author = await connect(web.socketUrl, alice);
    const snoop = await connect(web.socketUrl, { headers: { Cookie: `banter_client=${'m'.repeat(24)}` } });
    snoop.send({ type: 'join', conversation: 'c1' });
    expect((await snoop.take('conversation')).history).toEqual([]);

    author.send({ type: 'say', conversation: 'c1', text: 'my secret plans' });
    await author.take('trace');
    snoop.send({ type: 'join', conversation: 'c1' });
    expect((await snoop.take('conversation')).history).toEqual([]);
    expect(snoop.pending().filter((f) => f.type !== 'welcome')).toEqual([]);

    // The same browser in another tab does see it.
    const secondTab = await connect(web.socketUrl, alice);
    secondTab.send({ type: 'join', conversation: 'c1' });
    expect((await secondTab.take('conversation')).history.map((t) => t.text)[0]).toBe('my secret plans');
  });

  it('shares conversations between clients when configured to', async () => {
    web = await startWebBot({ shareConversations: true });
    const author = await connect(web.socketUrl);
    author.send({ type: 'say', conversation: 'shared', text: 'for everyone' });
    await author.take('trace');
    const reader = await connect(web.socketUrl);
    reader.send({ type: 'join', conversation: 'shared' });
    expect((await reader.take('conversation')).history.map((t) => t.text)[0]).toBe('for everyone');
  });
});

describe('web adapter: when the history store fails', () => {
  it('delivers the reply and shows no error when the save fails; a store that cannot be read gets the apology, never its error', async () => {
    const store = await FaultyStore.open();
    web = await startWebBot({}, [], { history: store });
    const client = await connect(web.socketUrl);
    store.failSaves = Infinity;
    client.send({ type: 'say', conversation: 'broken', text: 'hello' });
    const end = await client.take('reply-end');
    expect(end.kind).toBe('model');
    await client.take('trace', (f) => f.trace.ms !== undefined);

    store.failLoads = 1;
    client.send({ type: 'say', conversation: 'broken', text: 'and now?' });
    expect((await client.take('reply-end')).kind).toBe('error');
    const frames = JSON.stringify(client.pending());
    expect(client.pending().filter((f) => f.type === 'error')).toEqual([]);
    expect(frames).not.toMatch(/EISDIR|history\.json|\/srv\//);
  });
});

describe('web adapter: bad input', () => {
  it('disconnects a client that never reads while it sends 30,000 frames, and keeps serving the others', async () => {
    const store = await FaultyStore.open();
    web = await startWebBot({}, [], { history: store });
    // A long stored conversation, so that every `join` answer is a big frame.
    const clientId = 's'.repeat(24);
    const history = Array.from({ length: 10 }, (_, i) => ({ role: i % 2 ? ('bot' as const) : ('user' as const), text: `${i} ${'words '.repeat(330)}`, at: i }));
    for (const key of [`web:${clientId}:slow`, 'web:slow']) await store.save({ key, preset: 'alpha', history, state: {} });

    const { port } = new URL(web.url);
    const raw = createConnection({ host: '127.0.0.1', port: Number(port) });
    raw.on('error', () => undefined); // the server cuts it off mid-write
    await once(raw, 'connect');
    raw.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nCookie: banter_client=${clientId}\r\n\r\n`,
    );
    raw.pause(); // and never read a byte
    await until(() => web!.adapter.connections === 1);
    const join = maskedTextFrame(JSON.stringify({ type: 'join', conversation: 'slow' }));
    for (let sent = 0; sent < 30_000 && !raw.destroyed; sent++) {
      if (!raw.write(join)) await Promise.race([once(raw, 'drain'), once(raw, 'close')]);
    }
    await until(() => web!.adapter.connections === 0);
    raw.destroy();

    const next = await connect(web.socketUrl);
    next.send({ type: 'join', conversation: 'other' });
    expect((await next.take('conversation')).history).toEqual([]);
  });


  it('answers malformed and invalid frames with an error frame and keeps the connection', async () => {
    web = await startWebBot();
    const client = await connect(web.socketUrl);
    client.socket.send('{not json');
    expect((await client.take('error')).message).toMatch(/Malformed JSON/);
    client.send([1, 2]);
    expect((await client.take('error')).message).toMatch(/JSON object/);
    client.send({ type: 'explode', conversation: 'c1' });
    expect((await client.take('error')).message).toMatch(/Unknown frame type "explode"/);
    client.send({ type: 'say', conversation: '../../etc', text: 'hi' });
    expect((await client.take('error')).message).toMatch(/conversation/);
    client.send({ type: 'say', conversation: 'c1', text: '   ' });
    expect((await client.take('error')).message).toMatch(/non-empty "text"/);
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.take('error')).message).toMatch(/text frames/);

    client.send({ type: 'join', conversation: 'c1' });
    expect((await client.take('conversation')).conversation).toBe('c1');
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('answers messages beyond the ones already waiting for the bot with a busy notice', async () => {
    web = await startWebBot();
    const client = await connect(web.socketUrl);
    for (let i = 0; i < 10; i++) client.send({ type: 'say', conversation: 'flood', text: `message ${i}` });
    // The bot's admission caps a conversation at 8 waiting turns (admission.maxPerConversation).
    expect(await client.take('reply-end', (f) => f.kind === 'busy')).toMatchObject({ conversation: 'flood', text: expect.stringMatching(/busy/) });
    expect(await client.take('reply-end', (f) => f.kind === 'busy')).toMatchObject({ conversation: 'flood' });
    for (let i = 0; i < 8; i++) await client.take('trace');
    expect(client.pending().filter((f) => f.type === 'error' || (f.type === 'reply-end' && f.kind === 'busy'))).toEqual([]);
    expect((await stored(web.bot, 'flood')).history).toHaveLength(16);
  });

  it('closes a connection that sends a frame over maxFrameBytes with 1009, and keeps serving', async () => {
    web = await startWebBot({ maxFrameBytes: 2048 });
    const client = await connect(web.socketUrl);
    const welcome = await client.take('welcome');
    expect(welcome.maxFrameBytes).toBe(2048);
    client.send({ type: 'say', conversation: 'big', text: 'x'.repeat(4096) });
    const closed = await client.closed;
    expect(closed.code).toBe(1009);

    const next = await connect(web.socketUrl);
    next.send({ type: 'join', conversation: 'big' });
    expect((await next.take('conversation')).history).toEqual([]);
  });

  it('answers a garbled request line with 400 and keeps serving', async () => {
    web = await startWebBot();
    const { port } = new URL(web.url);
    for (const target of ['http://[broken', '%%%', '*']) {
      const status = await rawRequest(Number(port), `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      expect(status).toMatch(/^HTTP\/1\.1 (400|404)/);
    }
    expect((await fetch(web.url)).status).toBe(200);
  });

  it('refuses a WebSocket from another origin or with a foreign Host header', async () => {
    web = await startWebBot();
    expect(await upgradeRefusal(web.socketUrl, { headers: { Origin: 'http://evil.example' } })).toMatchObject({ status: 403, body: expect.stringMatching(/Cross-origin/) });
    const host = new URL(web.socketUrl).host;
    expect(await upgradeRefusal(web.socketUrl, { headers: { Origin: `http://${host}` } })).toBeUndefined();
    expect(await upgradeRefusal(web.socketUrl, { headers: { Host: `rebound.example:${new URL(web.socketUrl).port}` } })).toMatchObject({ status: 403 });
    expect(await upgradeRefusal(web.socketUrl.replace('/ws', '/elsewhere'))).toMatchObject({ status: 403 });
  });
});

describe('web adapter: access', () => {
  it('needs the access token for the page and the socket, compared exactly', async () => {
    const token = 'correct-horse-battery';
    web = await startWebBot({ accessToken: token });
    expect(web.url).toContain(`?token=${token}`);
    const bare = web.url.split('?')[0];
    const refused = await fetch(bare);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toMatch(/\?token=/);
    expect((await fetch(`${bare}?token=correct-horse-batterY`)).status).toBe(401);
    expect((await fetch(web.url)).status).toBe(200);
    // The assets hold no data and load without it.
    expect((await fetch(`${bare}app.js`)).status).toBe(200);

    expect(await upgradeRefusal(web.socketUrl)).toMatchObject({ status: 401 });
    expect(await upgradeRefusal(`${web.socketUrl}?token=wrong-token-here`)).toMatchObject({ status: 401 });
    const client = await connect(`${web.socketUrl}?token=${token}`);
    expect((await client.take('welcome')).bot).toBe(web.bot.name);
  });

  it('treats an empty token as none and refuses a short one without repeating it', async () => {
    web = await startWebBot({ accessToken: '' });
    expect((await fetch(web.url)).status).toBe(200);
    const error = await createWebAdapter().start(web.bot, { port: 0, accessToken: 'short' }).then(() => undefined, (caught: Error) => caught);
    expect(error?.message).toMatch(/at least 8 characters/);
    expect(error?.message).not.toContain('short');
  });

  it('refuses to start on a host other machines can reach without an access token', async () => {
    web = await startWebBot();
    await expect(createWebAdapter().start(web.bot, { port: 0, host: '0.0.0.0' })).rejects.toThrow(/needs an access token/);
    await expect(createWebAdapter().start(web.bot, { port: 0, host: '0.0.0.0', allowRemote: false })).rejects.toThrow(/needs an access token/);
  });

  it('does not put the token in its address', async () => {
    const token = 'correct-horse-battery';
    web = await startWebBot({ accessToken: token });
    expect(web.adapter.url).not.toContain(token);
    expect(web.adapter.url).toBe(web.url.split('?')[0]);
  });

  it('accepts only loopback clients unless remote clients are allowed', async () => {
    // The remote side of this test needs a non-loopback address on this machine to connect from.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((info) => info && info.family === 'IPv4' && !info.internal)?.address;
    expect(external, 'this test needs a non-loopback IPv4 interface').toBeDefined();

    web = await startWebBot({ host: '0.0.0.0', allowRemote: false, accessToken: 'a-token-for-0.0.0.0' });
    const port = new URL(web.url).port;
    const token = new URL(web.url).search;
    const viaNetwork = await fetch(`http://${external}:${port}/${token}`);
    expect(viaNetwork.status).toBe(403);
    expect(await viaNetwork.text()).toMatch(/only accepts connections from this machine/);
    expect(await upgradeRefusal(`ws://${external}:${port}/ws${token}`)).toMatchObject({ status: 403 });
    expect((await fetch(`http://127.0.0.1:${port}/${token}`)).status).toBe(200);
    await stopWebBot(web);

    // Bound to every interface (host set otherwise), remote clients are the point, with the token.
    web = await startWebBot({ host: '0.0.0.0', accessToken: 'a-token-for-0.0.0.0' });
    const open = new URL(web.url).port;
    expect((await fetch(`http://${external}:${open}/${token}`)).status).toBe(200);
    expect((await fetch(`http://${external}:${open}/`)).status).toBe(401);
    expect(await upgradeRefusal(`ws://${external}:${open}/ws${token}`)).toBeUndefined();
  });

  it('closes its sockets on stop and frees the port', async () => {
    web = await startWebBot();
    const client = await connect(web.socketUrl);
    await client.take('welcome');
    const port = Number(new URL(web.url).port);
    await web.adapter.stop();
    expect((await client.closed).code).toBe(1001);
    const again = createWebAdapter();
    await again.start(web.bot, { port });
    expect(again.url).toBe(`http://127.0.0.1:${port}/`);
    await again.stop();
  });
});
