/**
 * The web chat: a local HTTP + WebSocket server and one static page to chat with any preset and to
 * see why the bot said what it said (the inspector shows each turn's trace from the bot's events).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage as HttpRequest, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { conversationKey, InFlight } from '../../core/index.js';
import type { Adapter, BotHost, ConversationAddress, Delivery, IncomingMessage, Reply, ReplyStream } from '../../core/index.js';
import { checkAccess, requestUrl, type AccessDecision, type AccessPolicy } from './access.js';
import { loadAssets, type Asset } from './assets.js';
import { configSchema, resolveWebConfig, type ResolvedWebConfig, type WebConfig } from './config.js';
import { ConversationHub } from './hub.js';
import { parseClientFrame, type ClientFrame } from './protocol.js';
import { toTurnTrace } from './trace.js';

export { configSchema, type WebConfig } from './config.js';
export type { ClientFrame, ServerFrame } from './protocol.js';
export type { TurnTrace, CandidateTrace } from './trace.js';

const PLATFORM = 'web';
const SOCKET_PATH = '/ws';
/** The cookie naming a browser: its conversations are its own (unless shared by config). */
const CLIENT_COOKIE = 'banter_client';
const CLIENT_ID = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * One connection's identity. `id` names its conversations: the browser (its cookie) or, without
 * the cookie, this connection alone. `user` is who the bot's admission limits count: the browser,
 * or for cookie-less connections their remote address, so opening more sockets buys no more turns.
 */
interface Client {
  id: string;
  user: string;
}

export class WebAdapter implements Adapter<WebConfig> {
  readonly name = 'web';
  readonly configSchema = configSchema;

  private bot?: BotHost;
  private config?: ResolvedWebConfig;
  private server?: Server;
  private sockets?: WebSocketServer;
  private assets = new Map<string, Asset>();
  private hub = new ConversationHub(0, () => undefined);
  private readonly clients = new WeakMap<WebSocket, Client>();
  private readonly unsubscribers: (() => void)[] = [];
  /** Open sockets per remote address, against `maxSocketsPerAddress`. */
  private readonly socketsPerAddress = new Map<string, number>();
  /** Frames being answered, so that stop() lets their replies reach the page before it closes the sockets. */
  private readonly inflight = new InFlight();
  private stopping = false;
  private address?: string;

  /** The page's address, without the access token (a secret: add `?token=` to open it). Available once started. */
  get url(): string {
    if (!this.address) throw new Error('web adapter: url is known only after start()');
    return this.address;
  }

  /** Open WebSocket connections (for tests and metrics). */
  get connections(): number {
    return this.sockets?.clients.size ?? 0;
  }

  async start(bot: BotHost, config: WebConfig): Promise<void> {
    if (this.server) throw new Error('web adapter: already started');
    const settings = resolveWebConfig(config);
    this.stopping = false;
    this.bot = bot;
    this.config = settings;
    this.assets = await loadAssets();
    this.hub = new ConversationHub(settings.maxBufferedBytes, (socket, bytes) =>
      bot.logger.warn({ bufferedBytes: bytes, limit: settings.maxBufferedBytes, client: this.clients.get(socket)?.id }, 'web: disconnected a client that stopped reading'),
    );

    const policy: AccessPolicy = { allowRemote: settings.allowRemote, accessToken: settings.accessToken };
    const server = createServer((request, response) => this.serveHttp(request, response, policy));
    const sockets = new WebSocketServer({ noServer: true, maxPayload: settings.maxFrameBytes });
    server.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head, policy));
    sockets.on('connection', (socket: WebSocket, request: HttpRequest) => this.onConnection(socket, request));
    sockets.on('error', (error) => bot.logger.error({ err: error }, 'web: WebSocket server error'));
    await listen(server, settings.port, settings.host).catch((error: unknown) => {
      sockets.close();
      throw error;
    });
    this.server = server;
    this.sockets = sockets;
    this.observe(bot);

    const port = (server.address() as { port: number }).port;
    const base = `http://${urlHost(settings.host)}:${port}/`;
    this.address = base;
    // The token is a secret: neither the address nor the log holds it.
    bot.logger.info(
      { url: base, tokenRequired: settings.accessToken !== undefined },
      settings.accessToken ? `web chat: open ${base}?token=<adapters.web.accessToken>` : `web chat: open ${base}`,
    );
    if (settings.allowRemote && !settings.accessToken) {
      bot.logger.warn({ host: settings.host }, 'web: accepting clients from other machines without an access token');
    }
  }

  /** Stops taking frames, lets the replies underway reach the page, then closes every socket. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.inflight.drain();
    for (const off of this.unsubscribers.splice(0)) off();
    const { server, sockets } = this;
    this.server = undefined;
    this.sockets = undefined;
    this.address = undefined;
    if (sockets) {
      const open = [...sockets.clients];
      for (const socket of open) socket.close(1001, 'server stopping');
      // A client that does not answer the close handshake promptly is cut off.
      await Promise.race([Promise.all(open.map(closed)), delay(1000, undefined, { ref: false })]);
      for (const socket of open) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
    }
    if (server) {
      const done = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      server.closeAllConnections();
      await done;
    }
    this.socketsPerAddress.clear();
  }

  private serveHttp(request: HttpRequest, response: ServerResponse, policy: AccessPolicy): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return plain(response, 405, 'Only GET and HEAD are served here.', { Allow: 'GET, HEAD' });
    }
    const path = requestUrl(request)?.pathname;
    if (path === undefined) return plain(response, 400, 'Unreadable request URL.');
    const page = path === '/' || path === '/index.html';
    // Scripts and styles hold no data; the page and the socket are what the token guards.
    const access = checkAccess(request, policy, page);
    if (!access.ok) return plain(response, access.status, access.reason);
    const asset = this.assets.get(page ? '/' : path);
    if (!asset) return plain(response, 404, `Not found: ${path}`);
    // The page names its browser once; the WebSocket reads the cookie back (same origin only).
    const newClient = page && !clientCookie(request) ? { 'Set-Cookie': `${CLIENT_COOKIE}=${newClientId()}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000` } : {};
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      ...newClient,
      'Content-Type': asset.contentType,
      'Content-Length': asset.body.length,
    });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
  }

  private upgrade(request: HttpRequest, socket: Duplex, head: Buffer, policy: AccessPolicy): void {
    socket.on('error', (error) => this.bot?.logger.debug({ err: error }, 'web: socket error during upgrade'));
    const path = requestUrl(request)?.pathname;
    const access: AccessDecision =
      path === SOCKET_PATH ? checkAccess(request, policy, true) : { ok: false, status: 403, reason: `No WebSocket at ${path ?? "that address"}.` };
    const cap = this.config?.maxSocketsPerAddress ?? 0;
    const decision: AccessDecision =
      access.ok && cap > 0 && (this.socketsPerAddress.get(remoteAddress(request)) ?? 0) >= cap
        ? { ok: false, status: 429, reason: `Too many connections from your address (at most ${cap}); close another tab and reload.` }
        : access;
    if (!decision.ok) {
      this.bot?.logger.warn({ remote: request.socket.remoteAddress, status: decision.status }, `web: refused a WebSocket: ${decision.reason}`);
      const body = decision.reason;
      const status = { 401: '401 Unauthorized', 403: '403 Forbidden', 429: '429 Too Many Requests' }[decision.status];
      socket.end(
        `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    this.sockets?.handleUpgrade(request, socket, head, (ws) => this.sockets?.emit('connection', ws, request));
  }

  private onConnection(socket: WebSocket, request: HttpRequest): void {
    const bot = this.requireBot();
    const address = remoteAddress(request);
    const cookie = clientCookie(request);
    this.clients.set(socket, { id: cookie ?? newClientId(), user: cookie ?? `address:${address}` });
    this.socketsPerAddress.set(address, (this.socketsPerAddress.get(address) ?? 0) + 1);
    socket.on('error', (error: Error & { code?: string }) => {
      // ws has already closed the socket (1009 for an oversized frame); the page explains the code.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        bot.logger.warn({ maxFrameBytes: this.config?.maxFrameBytes }, 'web: closed a connection that sent an oversized frame');
      } else {
        bot.logger.warn({ err: error }, 'web: WebSocket error');
      }
    });
    socket.on('close', () => {
      this.hub.drop(socket);
      const left = (this.socketsPerAddress.get(address) ?? 1) - 1;
      if (left > 0) this.socketsPerAddress.set(address, left);
      else this.socketsPerAddress.delete(address);
    });
    socket.on('message', (data, isBinary) => this.onFrame(socket, data, isBinary));
    this.hub.send(socket, {
      type: 'welcome',
      bot: bot.name,
      presets: bot.presets.list().map(({ name, description }) => ({ name, description })),
      maxFrameBytes: this.config?.maxFrameBytes ?? 0,
    });
  }

  private onFrame(socket: WebSocket, data: RawData, isBinary: boolean): void {
    if (isBinary) return this.hub.send(socket, { type: 'error', message: 'Send JSON text frames, not binary ones.' });
    const parsed = parseClientFrame(rawToString(data));
    if (!parsed.ok) return this.hub.send(socket, { type: 'error', message: parsed.error });
    const frame = parsed.frame;
    const client = this.clients.get(socket)!;
    const room = conversationKey(this.addressOf(client, frame.conversation));
    if (frame.type === 'leave') return this.hub.leave(socket, room);
    if (this.stopping) return this.hub.send(socket, { type: 'error', conversation: frame.conversation, message: 'The chat is shutting down.' });
    this.hub.join(socket, room);
    this.inflight.run(this.dispatch(socket, client, frame), (error) => {
      // The cause is for the log; the page gets no internal detail (paths, store errors).
      this.bot?.logger.error({ err: error, conversation: frame.conversation }, `web: could not handle a "${frame.type}" frame`);
      this.hub.send(socket, { type: 'error', conversation: frame.conversation, message: 'The bot could not answer that. Please try again.' });
    });
  }

  /** A client's conversation: its own (channel = client, thread = the page's id) unless shared by config. */
  private addressOf(client: Client, conversation: string): ConversationAddress {
    return this.config?.shareConversations ? { platform: PLATFORM, channel: conversation } : { platform: PLATFORM, channel: client.id, thread: conversation };
  }

  private async dispatch(socket: WebSocket, client: Client, frame: Exclude<ClientFrame, { type: 'leave' }>): Promise<void> {
    const address = this.addressOf(client, frame.conversation);
    switch (frame.type) {
      case 'join':
        return this.sendConversation(address, frame.conversation);
      case 'say':
        return this.ask(client, address, frame.conversation, frame.text, true);
      case 'preset':
        return this.ask(client, address, frame.conversation, `/preset ${frame.name}`, false);
      case 'reset':
        return this.ask(client, address, frame.conversation, '/reset', false);
      case 'feedback': {
        const outcome = await this.requireBot().rate({ turnId: frame.turnId, rating: frame.rating, reason: frame.reason, user: { id: userId(client) }, address });
        // Every tab of the conversation shows the rating it now has.
        const sent = { type: 'feedback', conversation: frame.conversation, turnId: frame.turnId, rating: frame.rating, ok: outcome.ok, message: outcome.message } as const;
        return outcome.ok ? this.hub.broadcast(conversationKey(address), sent) : this.hub.send(socket, sent);
      }
    }
  }

  /**
   * Runs one message through the bot. A one-candidate reply streams over the socket as the core
   * shows it (sentence by sentence, each checked first); `deliver` sends the finished reply, which
   * replaces what was streamed (a fallback, citations), with what the page needs to rate it.
   */
  private async ask(client: Client, address: ConversationAddress, conversation: string, text: string, echo: boolean): Promise<void> {
    const bot = this.requireBot();
    const id = randomUUID();
    const room = conversationKey(address);
    // Whoever passed the loopback/token checks runs this bot. The bot's admission caps count `user`
    // (the browser across its sockets, or a cookie-less address) and answer beyond them with a busy notice.
    const message: IncomingMessage = { ...address, user: { id: userId(client), name: 'you', isAdmin: true }, text, id };
    if (echo) this.hub.broadcast(room, { type: 'user', conversation, text });
    const reply = await bot.handle(message, async (finished, delivery) => this.sendReply(room, conversation, id, finished, delivery), {
      stream: this.config?.stream ? this.replyStream(room, conversation, id) : undefined,
      // The page shows that its message waits for its turn (behind others of the conversation).
      onAccepted: () => this.hub.broadcast(room, { type: 'waiting', conversation }),
    });
    // After the command's answer has arrived, so the page shows it above the redrawn conversation.
    if (reply.kind === 'command') await this.sendConversation(address, conversation);
  }

  private async sendConversation(address: ConversationAddress, id: string): Promise<void> {
    const bot = this.requireBot();
    const conversation = await bot.conversation(address);
    const greeting = bot.presets.get(conversation.preset)?.greeting ?? [];
    this.hub.broadcast(conversationKey(address), {
      type: 'conversation',
      conversation: id,
      preset: conversation.preset,
      greeting: greeting.map(({ role, text }) => ({ role, text })),
      history: conversation.history.map(({ role, text }) => ({ role, text })),
    });
  }

  /** Sends what the core shows of a reply being written: each update grows the text, so only the new part goes out. */
  private replyStream(room: string, conversation: string, streamId: string): ReplyStream {
    let shown: string | undefined;
    return {
      update: (text) => {
        if (shown === undefined) this.hub.broadcast(room, { type: 'reply-start', conversation, streamId });
        this.hub.broadcast(room, { type: 'reply-chunk', conversation, streamId, text: text.slice(shown?.length ?? 0) });
        shown = text;
      },
    };
  }

  /** The finished reply (it replaces whatever was streamed under the same id), then its turn's trace for the inspector. */
  private sendReply(room: string, conversation: string, streamId: string, reply: Reply, { turn, ms, error }: Delivery): void {
    this.hub.broadcast(room, {
      type: 'reply-end',
      conversation,
      streamId,
      kind: reply.kind,
      text: reply.text,
      citations: reply.citations.map(({ title, url }) => ({ title, url })),
      ...(reply.turnId ? { turnId: reply.turnId } : {}),
      ...(reply.rateable ? { rateable: true } : {}),
    });
    if (turn) this.hub.broadcast(room, { type: 'trace', conversation, trace: toTurnTrace(turn, { ms, error }) });
  }

  /** Observes the pipeline's stage progress of web turns that someone watches (the trace comes with the reply). */
  private observe(bot: BotHost): void {
    this.unsubscribers.push(
      bot.events.on('stage', ({ turn, stage }) => {
        const { message } = turn;
        if (message.platform === PLATFORM) this.hub.broadcast(conversationKey(message), { type: 'stage', conversation: message.thread ?? message.channel, turnId: turn.id, stage });
      }),
    );
  }

  private requireBot(): BotHost {
    if (!this.bot) throw new Error('web adapter: not started');
    return this.bot;
  }
}

/** The module's default export: a factory, as the core expects of adapters. */
export default function createWebAdapter(): WebAdapter {
  return new WebAdapter();
}

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  // The page's address may carry the access token: never send it on to cited sites.
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
} as const;

/** The browser's id from its cookie, when it carries a well-formed one. */
function clientCookie(request: HttpRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === CLIENT_COOKIE && value && CLIENT_ID.test(value)) return value;
  }
  return undefined;
}

/** The person behind a browser (or a cookie-less address), as the bot sees them (messages and ratings alike). */
function userId(client: Client): string {
  return `web:${client.user}`;
}

/** The connection's remote address, IPv4-mapped IPv6 written as IPv4 so both spellings count as one. */
function remoteAddress(request: HttpRequest): string {
  return (request.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
}

function newClientId(): string {
  return randomBytes(18).toString('base64url');
}

function plain(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(text);
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const hint =
        error.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is in use: set adapters.web.port to a free port (0 picks one)`
          : `cannot listen on ${host}:${port} (${error.message}): check adapters.web.host and adapters.web.port`;
      reject(new Error(`web adapter: ${hint}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** The host to print in the URL: a wildcard bind is reached locally as localhost; IPv6 needs brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function closed(socket: WebSocket): Promise<void> {
  return socket.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}
