/**
 * Which sockets watch which conversation (by history key): a conversation's frames go to its own
 * sockets only. Every send checks how far the socket has fallen behind: a client that stops
 * reading while frames pile up past `maxBufferedBytes` is disconnected, so one slow or stalled
 * client cannot make the server buffer without bound.
 */
import { WebSocket } from 'ws';
import { encodeServerFrame, type ServerFrame } from './protocol.js';

export class ConversationHub {
  private readonly sockets = new Map<string, Set<WebSocket>>();

  constructor(
    private readonly maxBufferedBytes: number,
    private readonly onSlowClient: (socket: WebSocket, bufferedBytes: number) => void,
  ) {}

  join(socket: WebSocket, room: string): void {
    let set = this.sockets.get(room);
    if (!set) this.sockets.set(room, (set = new Set()));
    set.add(socket);
  }

  leave(socket: WebSocket, room: string): void {
    const set = this.sockets.get(room);
    if (!set) return;
    set.delete(socket);
    if (set.size === 0) this.sockets.delete(room);
  }

  /** Forgets a closed socket everywhere. */
  drop(socket: WebSocket): void {
    for (const room of [...this.sockets.keys()]) this.leave(socket, room);
  }

  broadcast(room: string, frame: ServerFrame): void {
    const set = this.sockets.get(room);
    if (!set) return;
    const data = encodeServerFrame(frame);
    for (const socket of set) this.sendRaw(socket, data);
  }

  send(socket: WebSocket, frame: ServerFrame): void {
    this.sendRaw(socket, encodeServerFrame(frame));
  }

  private sendRaw(socket: WebSocket, data: string): void {
    // A socket may close while a turn is still running; its frames are simply no longer wanted.
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(data);
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      this.drop(socket);
      this.onSlowClient(socket, socket.bufferedAmount);
      // It is not reading, so a close handshake would wait in the same queue: cut it off.
      socket.terminate();
    }
  }
}
