/** The transport both platform stand-ins share: an HTTP server with a WebSocket path, on loopback. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface LoopbackServer {
  server: Server;
  wss: WebSocketServer;
  /** `127.0.0.1:PORT`. */
  origin: string;
  /** The WebSocket clients connected now. */
  sockets: Set<WebSocket>;
  /** Drops every client and stops listening. */
  close(): Promise<void>;
}

export async function startLoopbackServer(
  socketPath: string,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  onSocket: (socket: WebSocket) => void,
): Promise<LoopbackServer> {
  const server = createServer();
  const wss = new WebSocketServer({ server, path: socketPath });
  server.on('request', onRequest);
  const sockets = new Set<WebSocket>();
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = async () => {
    for (const socket of sockets) socket.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  };
  return { server, wss, origin: `127.0.0.1:${(server.address() as AddressInfo).port}`, sockets, close };
}
