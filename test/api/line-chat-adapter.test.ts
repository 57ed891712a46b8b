/**
 * The adapter guide's adapter (line-chat-adapter.ts) on a real bot (the fixture model) against a
 * stand-in of its platform on loopback: what the kit gives it is visible on the wire.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bot, Plugin } from '../../core/index.js';
import { makeTestBot } from '../helpers/bot.js';
import { gate } from './gate.js';
import { createLineChatAdapter } from './line-chat-adapter.js';

interface Frame {
  type: 'typing' | 'send';
  room: string;
  replyTo?: string;
  text?: string;
}

/** The platform: one gateway connection, the frames the bot wrote, and a way to post messages. */
async function platform(): Promise<{ server: Server; port: number; frames: Frame[]; post: (room: string, user: string, text: string, id: string) => void; until: (check: () => boolean) => Promise<void>; closed: Promise<void> }> {
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let client: Socket | undefined;
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  let onClose!: () => void;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const server = createServer((socket) => {
    client = socket;
    createInterface({ input: socket }).on('line', (line) => {
      frames.push(JSON.parse(line) as Frame);
      for (const wake of [...waiters]) wake();
    });
    socket.on('close', onClose);
    connected();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as { port: number }).port,
    frames,
    post: (room, user, text, id) => void ready.then(() => client!.write(`${JSON.stringify({ room, user, text, id })}\n`)),
    until: (check) =>
      new Promise<void>((resolve) => {
        const wake = () => {
          if (!check()) return;
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
        wake();
      }),
    closed,
  };
}

let bot: Bot | undefined;
let stand: Awaited<ReturnType<typeof platform>> | undefined;
afterEach(async () => {
  await bot?.stop();
  stand?.server.close();
  bot = undefined;
  stand = undefined;
});

async function start(held?: Plugin): Promise<NonNullable<typeof stand>> {
  stand = await platform();
  const config = { port: stand.port, rooms: { allow: [], deny: ['quiet'] }, adminUsers: ['boss'], messageLimit: 60 };
  bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 6 } }, { plugins: held ? [held] : [], adapters: [{ adapter: createLineChatAdapter(), config }] });
  await bot.start();
  return stand;
}

describe('an adapter on the kit (CONTRIBUTING.md)', () => {
  it('shows typing, then answers; a denied room gets nothing', async () => {
    const chat = await start();
    chat.post('quiet', 'u', 'anyone there?', 'm0');
    chat.post('lobby', 'u', 'Hello there', 'm1');
    await chat.until(() => chat.frames.some((f) => f.type === 'send' && f.replyTo === 'm1'));
    const lobby = chat.frames.filter((f) => f.room === 'lobby').map((f) => f.type);
    expect(lobby[0]).toBe('typing');
    expect(lobby).toContain('send');
    expect(chat.frames.filter((f) => f.room === 'quiet')).toEqual([]);
  });

  it('maps admins from config and splits long replies within the message limit', async () => {
    const chat = await start();
    chat.post('lobby', 'u', '/persona I like tea.', 'm1');
    chat.post('lobby', 'boss', '/persona I like tea.', 'm2');
    chat.post('lobby', 'u', '/help', 'm3');
    await chat.until(() => ['m1', 'm2', 'm3'].every((id) => chat.frames.some((f) => f.replyTo === id)));
    const sent = (id: string) => chat.frames.filter((f) => f.type === 'send' && f.replyTo === id).map((f) => f.text!);
    expect(sent('m1').join(' ')).toContain('Only admins');
    expect(sent('m2').join(' ')).not.toContain('Only admins');
    expect(sent('m3').length).toBeGreaterThan(1);
    expect(sent('m3').every((text) => text.length <= 60)).toBe(true);
  });

  it('on stop takes no more messages but delivers the answer underway before it disconnects', async () => {
    const held = gate();
    const chat = await start(held.plugin);
    chat.post('lobby', 'u', 'hold', 'm1');
    await held.reached;
    const stopped = bot!.stop();
    chat.post('lobby', 'u', 'too late', 'm2');
    held.open();
    await stopped;
    await chat.closed;
    expect(chat.frames.some((f) => f.type === 'send' && f.replyTo === 'm1')).toBe(true);
    expect(chat.frames.some((f) => f.replyTo === 'm2')).toBe(false);
  });
});
