/**
 * The web adapter's limits count people, not sockets: cookie-less sockets of one address share one
 * user, the sockets of one browser (cookie) share one user, and one address may hold only so many
 * sockets. Generation is held back while the messages arrive, so exactly the cap's worth is
 * admitted whatever the machine's speed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import { FrameClient, startWebBot, endWebTest, upgradeRefusal, type WebBot } from './support.js';

let web: WebBot | undefined;
const clients: FrameClient[] = [];
afterEach(async () => {
  await endWebTest(clients, web);
  web = undefined;
});

async function open(url: string, cookie?: string): Promise<FrameClient> {
  const client = await FrameClient.open(url, cookie ? { headers: { Cookie: `banter_client=${cookie}` } } : {});
  clients.push(client);
  await client.take('welcome');
  return client;
}

/** Holds every generation until `release` (the real engine then runs them). */
function holdGenerations(bot: Bot): { release: () => void } {
  const real = bot.engine.generate;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  bot.engine.generate = (prompt, options, control) => gate.then(() => real(prompt, options, control));
  return { release };
}

/** The reply-end frames a client has received (none taken), by kind and conversation. */
const ends = (client: FrameClient) => client.pending().filter((f): f is Extract<typeof f, { type: 'reply-end' }> => f.type === 'reply-end');
const total = (group: FrameClient[], kind?: string) => group.reduce((sum, client) => sum + ends(client).filter((f) => !kind || f.kind === kind).length, 0);

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('web adapter: limits per user across sockets', () => {
  it('ten cookie-less sockets of one address share the per-user cap; a bystander is still answered', async () => {
    web = await startWebBot({}, [], { config: { admission: { maxPerUser: 8 } as never } });
    const held = holdGenerations(web.bot);
    const flood = await Promise.all(Array.from({ length: 10 }, () => open(web!.socketUrl)));
    flood.forEach((client, s) => {
      for (let m = 0; m < 8; m++) client.send({ type: 'say', conversation: `flood${s}`, text: `flood ${s} ${m}` });
    });
    // 80 messages while nothing can finish: 8 are admitted, the other 72 are answered busy at once.
    await until(() => total(flood, 'busy') === 72);
    expect(total(flood)).toBe(72);

    const started: string[] = [];
    web.bot.events.on('turn:start', ({ turn }) => void started.push(turn.message.text));
    const bystander = await open(web.socketUrl, 'b'.repeat(24));
    bystander.send({ type: 'say', conversation: 'mine', text: 'bystander here' });
    // Admitted beside the flood's eight, not refused: its turn starts while they still wait for the engine.
    await until(() => started.includes('bystander here'));
    held.release();
    expect((await bystander.take('reply-end')).kind).toBe('model');
    await until(() => total(flood) === 80);
    expect(total(flood, 'model')).toBe(8);
    // Every message was answered exactly once (a reply or a busy notice), in its own conversation.
    flood.forEach((client, s) => {
      expect(ends(client)).toHaveLength(8);
      expect(ends(client).every((f) => f.conversation === `flood${s}`)).toBe(true);
    });
  });

  it('the sockets of one browser (one cookie) share its cap', async () => {
    web = await startWebBot({}, [], { config: { admission: { maxPerUser: 3 } as never } });
    const held = holdGenerations(web.bot);
    const tabs = await Promise.all(Array.from({ length: 10 }, () => open(web!.socketUrl, 'c'.repeat(24))));
    tabs.forEach((tab, t) => {
      for (let m = 0; m < 2; m++) tab.send({ type: 'say', conversation: `tab${t}`, text: `tab ${t} ${m}` });
    });
    await until(() => total(tabs, 'busy') === 17);
    held.release();
    await until(() => total(tabs) === 20);
    expect(total(tabs, 'model')).toBe(3);
  });

  it('caps the sockets of one address, and frees a place when one closes', async () => {
    web = await startWebBot({ maxSocketsPerAddress: 3 });
    const three = await Promise.all([open(web.socketUrl), open(web.socketUrl, 'd'.repeat(24)), open(web.socketUrl)]);
    expect(await upgradeRefusal(web.socketUrl)).toEqual({ status: 429, body: expect.stringMatching(/Too many connections from your address \(at most 3\)/) });
    three[0].close();
    await three[0].closed;
    while (web.adapter.connections > 2) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await upgradeRefusal(web.socketUrl)).toBeUndefined();
  });

  it('a turn past its deadline is answered with the apology in its conversation; its late reply never comes', async () => {
    web = await startWebBot({}, [], { config: { admission: { turnDeadlineMs: 300 } as never } });
    const held = holdGenerations(web.bot);
    const client = await open(web.socketUrl, 'e'.repeat(24));
    for (const text of ['one', 'two', 'three']) client.send({ type: 'say', conversation: 'slow', text });
    // The first waits for the engine, the others behind it in the conversation: all three pass their deadline.
    await until(() => total([client], 'deadline') === 3);
    held.release();
    await until(() => web!.bot.backlog.conversations + web!.bot.backlog.admitting === 0);
    expect(ends(client).map((f) => [f.conversation, f.kind])).toEqual([['slow', 'deadline'], ['slow', 'deadline'], ['slow', 'deadline']]);
    expect((await web.bot.conversation({ platform: 'web', channel: 'e'.repeat(24), thread: 'slow' })).history).toEqual([]);
  });
});
