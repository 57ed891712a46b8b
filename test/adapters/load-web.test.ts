/**
 * Acceptance under load through the web adapter, on a real bot (fixture model, the real pipeline
 * and admission as shipped): 100 conversations × 5 messages and 300 × 2, each conversation its own
 * browser, every message sent before any reply. Every message must be answered exactly once (a
 * reply, or a busy or deadline notice) in its own conversation, every history must hold exactly
 * the answered messages and their replies in order, and when it is over every admission count,
 * queue and per-connection map must be back to empty. Nothing here depends on how fast it runs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryAdmissionState } from '../../core/admission/index.js';
import type { ServerFrame } from '../../adapters/web/index.js';
import { FrameClient, startWebBot, endWebTest, type WebBot } from '../web/support.js';

type ReplyEnd = Extract<ServerFrame, { type: 'reply-end' }>;
/** Answers that are not replies: the user was told the bot is busy, or that the turn took too long. */
const NOTICES = new Set(['busy', 'deadline']);

let web: WebBot | undefined;
const clients: FrameClient[] = [];
afterEach(async () => {
  await endWebTest(clients, web);
  web = undefined;
});

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 50));
}

const replyEnds = (client: FrameClient): ReplyEnd[] => client.pending().filter((f): f is ReplyEnd => f.type === 'reply-end');

async function run(conversations: number, messages: number, admission: Record<string, number> = {}): Promise<{ replies: number; notices: number }> {
  const state = new MemoryAdmissionState();
  web = await startWebBot({ maxSocketsPerAddress: conversations + 1 }, [], {
    // Short replies keep the turns quick; what is checked does not depend on their length.
    config: { decoding: { numCandidates: 2, maxNewTokens: 6, seed: 7, strategy: 'sample' }, admission: admission as never },
    admissionState: state,
  });
  const browser = (i: number) => `load${String(i).padStart(20, '0')}`;
  const text = (i: number, m: number) => `conversation ${i} message ${m}`;
  for (let i = 0; i < conversations; i++) clients.push(await FrameClient.open(web.socketUrl, { headers: { Cookie: `banter_client=${browser(i)}` } }));
  await Promise.all(clients.map((client) => client.take('welcome')));
  clients.forEach((client, i) => {
    for (let m = 0; m < messages; m++) client.send({ type: 'say', conversation: `c${i}`, text: text(i, m) });
  });
  await until(() => clients.every((client) => replyEnds(client).length >= messages));
  await until(() => web!.bot.backlog.conversations + web!.bot.backlog.admitting + web!.bot.backlog.bursts === 0);

  let replies = 0;
  let notices = 0;
  for (const [i, client] of clients.entries()) {
    const frames = client.pending();
    // None crossed: a socket sees only its own conversation's frames, and each message got exactly one answer.
    expect(frames.filter((f) => 'conversation' in f && f.conversation !== undefined && f.conversation !== `c${i}`)).toEqual([]);
    const ends = replyEnds(client);
    expect(ends).toHaveLength(messages);
    const answered = ends.filter((f) => !NOTICES.has(f.kind));
    expect(answered.every((f) => f.kind === 'model' || f.kind === 'fallback')).toBe(true);
    replies += answered.length;
    notices += ends.length - answered.length;
    // The history holds the answered messages (in the order sent) each followed by its reply, and nothing else.
    const history = (await web.bot.conversation({ platform: 'web', channel: browser(i), thread: `c${i}` })).history;
    expect(history.filter((t) => t.role === 'bot').map((t) => t.text)).toEqual(answered.map((f) => f.text));
    const asked = history.filter((t) => t.role === 'user').map((t) => t.text);
    expect(history.map((t) => t.role)).toEqual(asked.flatMap(() => ['user', 'bot']));
    const sent = Array.from({ length: messages }, (_, m) => text(i, m));
    expect(asked).toEqual(sent.filter((t) => asked.includes(t)));
  }
  // Memory is bounded: every count and map is empty again once the turns are over.
  expect(state.size).toBe(0);
  for (const client of clients.splice(0)) client.close();
  await until(() => web!.adapter.connections === 0);
  return { replies, notices };
}

describe('through the web adapter under load', () => {
  // Most messages arrive before any turn ends: the shipped overall cap (256) admits at least that many and answers the rest busy.
  for (const [conversations, messages] of [[100, 5], [300, 2]]) {
    it(`${conversations} conversations × ${messages} messages, shipped caps: each answered exactly once, none crossed, histories exact`, async () => {
      const { replies, notices } = await run(conversations, messages);
      expect(replies + notices).toBe(conversations * messages);
      expect(replies).toBeGreaterThanOrEqual(256);
    }, 600_000);
  }

  it('100 conversations × 5 messages with room for all: every message gets a reply', async () => {
    const { replies, notices } = await run(100, 5, { maxTotal: 0 });
    expect({ replies, notices }).toEqual({ replies: 500, notices: 0 });
  }, 600_000);

  it('300 conversations × 2 messages with room for all: every message gets a reply', async () => {
    const { replies, notices } = await run(300, 2, { maxTotal: 0 });
    expect({ replies, notices }).toEqual({ replies: 600, notices: 0 });
  }, 600_000);
});
