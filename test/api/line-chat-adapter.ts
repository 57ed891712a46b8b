/**
 * A whole adapter written on the adapter kit, as CONTRIBUTING.md's guide describes: "line chat", a
 * platform whose gateway speaks newline-delimited JSON over TCP (messages in; typing and sends out).
 * It filters rooms, maps admins, splits long replies, shows typing from the moment a message is
 * accepted, and drains the answers underway when it stops.
 */
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { InFlight, isConfiguredAdmin, passesFilter, splitMessage, TypingIndicators, type Adapter, type IdFilter, type Reply } from '../../core/index.js';

export interface LineChatConfig {
  port: number;
  rooms: IdFilter;
  adminUsers: string[];
  messageLimit: number;
}

interface LineChatEvent {
  room: string;
  user: string;
  text: string;
  id: string;
}

export function createLineChatAdapter(): Adapter<LineChatConfig> {
  const inflight = new InFlight();
  let socket: Socket | undefined;
  let typing: TypingIndicators | undefined;
  let taking = false;
  const write = (frame: object) => new Promise<void>((resolve, reject) => socket!.write(`${JSON.stringify(frame)}\n`, (error) => (error ? reject(error) : resolve())));
  return {
    name: 'line-chat',
    async start(bot, config) {
      socket = createConnection({ port: config.port, host: '127.0.0.1' });
      await once(socket, 'connect');
      typing = new TypingIndicators(1_000, (error) => bot.logger.warn({ err: error }, 'typing failed'));
      taking = true;
      createInterface({ input: socket }).on('line', (line) => {
        const event = JSON.parse(line) as LineChatEvent;
        if (!taking || !passesFilter(config.rooms, [event.room])) return;
        const shown = typing!.forMessage({ id: event.room, sendTyping: () => write({ type: 'typing', room: event.room }) });
        const user = { id: event.user, isAdmin: isConfiguredAdmin(config, { id: event.user }) };
        const deliver = async (reply: Reply) => {
          for (const text of splitMessage(reply.text, config.messageLimit)) await write({ type: 'send', room: event.room, replyTo: event.id, text });
        };
        const answer = bot.handle({ platform: 'line-chat', channel: event.room, id: event.id, user, text: event.text }, deliver, { onAccepted: shown.onAccepted });
        inflight.run(answer.finally(shown.release), (error) => bot.logger.error({ err: error }, 'message not answered'));
      });
    },
    async stop() {
      taking = false; // take no more messages
      await inflight.drain(); // let the replies underway go out
      typing?.clear();
      socket?.end();
      if (socket && !socket.closed) await once(socket, 'close');
    },
  };
}
