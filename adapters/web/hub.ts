/** Which sockets watch which conversation: a conversation's frames go to its own sockets only. */
import { WebSocket } from 'ws';
import { encodeServerFrame, type ServerFrame } from './protocol.js';

export class ConversationHub {
  private readonly sockets = new Map<string, Set<WebSocket>>();

  join(socket: WebSocket, conversation: string): void {
    let set = this.sockets.get(conversation);
    if (!set) this.sockets.set(conversation, (set = new Set()));
    set.add(socket);
  }

  leave(socket: WebSocket, conversation: string): void {
    const set = this.sockets.get(conversation);
    if (!set) return;
    set.delete(socket);
    if (set.size === 0) this.sockets.delete(conversation);
  }

  /** Forgets a closed socket everywhere. */
  drop(socket: WebSocket): void {
    for (const conversation of [...this.sockets.keys()]) this.leave(socket, conversation);
  }

  watched(conversation: string): boolean {
    return this.sockets.has(conversation);
  }

  broadcast(conversation: string, frame: ServerFrame): void {
    const set = this.sockets.get(conversation);
    if (!set) return;
    const data = encodeServerFrame(frame);
    for (const socket of set) sendRaw(socket, data);
  }
}

export function sendFrame(socket: WebSocket, frame: ServerFrame): void {
  sendRaw(socket, encodeServerFrame(frame));
}

function sendRaw(socket: WebSocket, data: string): void {
  // A socket may close while a turn is still running; its frames are simply no longer wanted.
  if (socket.readyState === WebSocket.OPEN) socket.send(data);
}
