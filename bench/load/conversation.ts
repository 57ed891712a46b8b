/** One simulated user: its own WebSocket to the web chat, messages sent one at a time, each after the last reply. */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import type { ServerFrame } from '../../adapters/web/protocol.js';
import { CHAT_MESSAGES as MESSAGES } from '../messages.js';

export interface ConversationResult {
  latenciesMs: number[];
  /** Replies by kind (model, fallback, ...); error frames count as "error". */
  kinds: Record<string, number>;
  /** Replies that named another conversation: must stay 0. */
  crossed: number;
}

/** Opens a socket (a new browser to the bot: no cookie), then says `messages` lines in conversation `id`. */
export async function converse(socketUrl: string, id: string, index: number, messages: number): Promise<ConversationResult> {
  const socket = new WebSocket(socketUrl);
  await once(socket, 'open');
  const result: ConversationResult = { latenciesMs: [], kinds: {}, crossed: 0 };
  let answered: ((kind: string) => void) | undefined;
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as ServerFrame;
    if (frame.type !== 'reply-end' && frame.type !== 'error') return;
    if (frame.conversation !== id) result.crossed++;
    answered?.(frame.type === 'error' ? 'error' : frame.kind);
  });
  try {
    for (let turn = 0; turn < messages; turn++) {
      const text = MESSAGES[(index + turn) % MESSAGES.length];
      const reply = new Promise<string>((resolve) => (answered = resolve));
      const sent = performance.now();
      socket.send(JSON.stringify({ type: 'say', conversation: id, text }));
      const kind = await reply;
      result.latenciesMs.push(performance.now() - sent);
      result.kinds[kind] = (result.kinds[kind] ?? 0) + 1;
    }
  } finally {
    socket.close();
  }
  return result;
}
