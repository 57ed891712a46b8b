/**
 * The web chat: a local HTTP + WebSocket server and one static page to chat with any preset and to
 * see why the bot said what it said (the inspector shows each turn's trace from the bot's events).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage as HttpRequest, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Adapter, BotHost, IncomingMessage, Reply } from '../../core/types.js';
import { checkAccess, requestUrl, type AccessPolicy } from './access.js';
import { loadAssets, type Asset } from './assets.js';
import { configSchema, resolveWebConfig, type ResolvedWebConfig, type WebConfig } from './config.js';
import { ConversationHub, sendFrame } from './hub.js';
import { parseClientFrame, type ClientFrame } from './protocol.js';
import { chunkReply } from './stream.js';
import { toTurnTrace } from './trace.js';

export { configSchema, type WebConfig } from './config.js';
export type { ClientFrame, ServerFrame } from './protocol.js';
export type { TurnTrace, CandidateTrace } from './trace.js';

const PLATFORM = 'web';
const SOCKET_PATH = '/ws';
/** Pause between streamed chunks: long enough to read as streaming, short enough not to hold up a reply. */
const CHUNK_INTERVAL_MS = 25;
/** Messages one socket may have waiting for the bot; more are refused so one tab cannot flood the queue. */
const MAX_PENDING_PER_SOCKET = 8;
/** Whoever reaches the page passed the loopback/token checks: the person running the bot. */
const WEB_USER = { id: 'web-user', name: 'you', isAdmin: true } as const;

export class WebAdapter implements Adapter<WebConfig> {
  readonly name = 'web';
  readonly configSchema = configSchema;

  private bot?: BotHost;
  private config?: ResolvedWebConfig;
  private server?: Server;
  private sockets?: WebSocketServer;
  private assets = new Map<string, Asset>();
  private readonly hub = new ConversationHub();
  private readonly unsubscribers: (() => void)[] = [];
  /** Per conversation, the reply stream that ends last: the next one starts after it. */
  private readonly streamTails = new Map<string, Promise<void>>();
  /** Turn ids by message id, from the `reply` event, so the streamed reply links to its trace. */
  private readonly turnOfMessage = new Map<string, string>();
  /** Errors of turns that failed, kept until `turn:end` sends the trace. */
  private readonly turnErrors = new Map<string, unknown>();
  private readonly pending = new WeakMap<WebSocket, number>();
  private stopping = new AbortController();
  private address?: string;

  /** The page's address (with `?token=` when an access token is set). Available once started. */
  get url(): string {
    if (!this.address) throw new Error('web adapter: url is known only after start()');
    return this.address;
  }

  async start(bot: BotHost, config: WebConfig): Promise<void> {
    if (this.server) throw new Error('web adapter: already started');
    const settings = resolveWebConfig(config);
    this.bot = bot;
    this.config = settings;
    this.stopping = new AbortController();
    this.assets = await loadAssets();

    const policy: AccessPolicy = { allowRemote: settings.allowRemote, accessToken: settings.accessToken };
    const server = createServer((request, response) => this.serveHttp(request, response, policy));
    const sockets = new WebSocketServer({ noServer: true, maxPayload: settings.maxFrameBytes });
    server.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head, policy));
    sockets.on('connection', (socket) => this.onConnection(socket));
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
    this.address = settings.accessToken ? `${base}?token=${encodeURIComponent(settings.accessToken)}` : base;
    // The token is a secret: the logged address leaves it out.
    bot.logger.info(
      { url: base, tokenRequired: settings.accessToken !== undefined },
      settings.accessToken ? `web chat: open ${base}?token=<adapters.web.accessToken>` : `web chat: open ${base}`,
    );
    if (settings.allowRemote && !settings.accessToken) {
      bot.logger.warn({ host: settings.host }, 'web: accepting clients from other machines without an access token');
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
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
    this.streamTails.clear();
    this.turnOfMessage.clear();
    this.turnErrors.clear();
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
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': asset.contentType,
      'Content-Length': asset.body.length,
    });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
  }

  private upgrade(request: HttpRequest, socket: Duplex, head: Buffer, policy: AccessPolicy): void {
    socket.on('error', (error) => this.bot?.logger.debug({ err: error }, 'web: socket error during upgrade'));
    const path = requestUrl(request)?.pathname;
    const access: ReturnType<typeof checkAccess> =
      path === SOCKET_PATH ? checkAccess(request, policy, true) : { ok: false, status: 403, reason: `No WebSocket at ${path ?? "that address"}.` };
    if (!access.ok) {
      this.bot?.logger.warn({ remote: request.socket.remoteAddress, status: access.status }, `web: refused a WebSocket: ${access.reason}`);
      const body = access.reason;
      const status = access.status === 401 ? '401 Unauthorized' : '403 Forbidden';
      socket.end(
        `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    this.sockets?.handleUpgrade(request, socket, head, (ws) => this.sockets?.emit('connection', ws, request));
  }

  private onConnection(socket: WebSocket): void {
    const bot = this.requireBot();
    socket.on('error', (error: Error & { code?: string }) => {
      // ws has already closed the socket (1009 for an oversized frame); the page explains the code.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        bot.logger.warn({ maxFrameBytes: this.config?.maxFrameBytes }, 'web: closed a connection that sent an oversized frame');
      } else {
        bot.logger.warn({ err: error }, 'web: WebSocket error');
      }
    });
    socket.on('close', () => this.hub.drop(socket));
    socket.on('message', (data, isBinary) => this.onFrame(socket, data, isBinary));
    sendFrame(socket, {
      type: 'welcome',
      bot: bot.name,
      presets: bot.presets.list().map(({ name, description }) => ({ name, description })),
      maxFrameBytes: this.config?.maxFrameBytes ?? 0,
    });
  }

  private onFrame(socket: WebSocket, data: RawData, isBinary: boolean): void {
    if (isBinary) return sendFrame(socket, { type: 'error', message: 'Send JSON text frames, not binary ones.' });
    const parsed = parseClientFrame(rawToString(data));
    if (!parsed.ok) return sendFrame(socket, { type: 'error', message: parsed.error });
    const frame = parsed.frame;
    if (frame.type === 'leave') return this.hub.leave(socket, frame.conversation);
    this.hub.join(socket, frame.conversation);
    this.dispatch(socket, frame).catch((error: unknown) => {
      this.bot?.logger.error({ err: error, conversation: frame.conversation }, `web: could not handle a "${frame.type}" frame`);
      sendFrame(socket, {
        type: 'error',
        conversation: frame.conversation,
        message: `The bot could not answer: ${error instanceof Error ? error.message : String(error)}`,
      });
    });
  }

  private async dispatch(socket: WebSocket, frame: Exclude<ClientFrame, { type: 'leave' }>): Promise<void> {
    switch (frame.type) {
      case 'join':
        return this.sendConversation(frame.conversation);
      case 'say':
        return this.ask(socket, frame.conversation, frame.text, true);
      case 'preset':
        return this.ask(socket, frame.conversation, `/preset ${frame.name}`, false);
      case 'reset':
        return this.ask(socket, frame.conversation, '/reset', false);
    }
  }

  /**
   * Runs one message through the bot. The reply starts streaming from the bot's `deliver`, but the
   * turn does not wait for the words to trickle out: its timings stay the pipeline's own.
   */
  private async ask(socket: WebSocket, conversation: string, text: string, echo: boolean): Promise<void> {
    const bot = this.requireBot();
    const waiting = this.pending.get(socket) ?? 0;
    if (waiting >= MAX_PENDING_PER_SOCKET) {
      return sendFrame(socket, { type: 'error', conversation, message: 'Too many messages are waiting for an answer; wait for the replies.' });
    }
    this.pending.set(socket, waiting + 1);
    const id = randomUUID();
    const message: IncomingMessage = { platform: PLATFORM, channel: conversation, user: { ...WEB_USER }, text, id };
    try {
      if (echo) this.hub.broadcast(conversation, { type: 'user', conversation, text });
      let streamed: Promise<void> | undefined;
      const reply = await bot.handle(message, async (finished) => {
        const turnId = this.turnOfMessage.get(id);
        this.turnOfMessage.delete(id);
        streamed = this.enqueueStream(conversation, id, turnId, finished);
      });
      await streamed;
      // After the command's answer has arrived, so the page shows it above the redrawn conversation.
      if (reply.kind === 'command') await this.sendConversation(conversation);
    } finally {
      this.turnOfMessage.delete(id);
      this.pending.set(socket, (this.pending.get(socket) ?? 1) - 1);
    }
  }

  private async sendConversation(channel: string): Promise<void> {
    const bot = this.requireBot();
    const conversation = await bot.conversation({ platform: PLATFORM, channel });
    const greeting = bot.presets.get(conversation.preset)?.greeting ?? [];
    this.hub.broadcast(channel, {
      type: 'conversation',
      conversation: channel,
      preset: conversation.preset,
      greeting: greeting.map(({ role, text }) => ({ role, text })),
      history: conversation.history.map(({ role, text }) => ({ role, text })),
    });
  }

  /** Streams a reply after those still streaming in its conversation, so replies never interleave. */
  private enqueueStream(conversation: string, streamId: string, turnId: string | undefined, reply: Reply): Promise<void> {
    const previous = this.streamTails.get(conversation) ?? Promise.resolve();
    const done = previous.then(() => this.streamReply(conversation, streamId, turnId, reply));
    this.streamTails.set(conversation, done);
    const forget = (): void => {
      if (this.streamTails.get(conversation) === done) this.streamTails.delete(conversation);
    };
    done.then(forget, forget);
    return done;
  }

  /** Sends a finalized reply to the conversation's sockets word by word; the page renders it as it arrives. */
  private async streamReply(conversation: string, streamId: string, turnId: string | undefined, reply: Reply): Promise<void> {
    const signal = this.stopping.signal;
    this.hub.broadcast(conversation, { type: 'reply-start', conversation, streamId, turnId, kind: reply.kind });
    for (const [index, text] of chunkReply(reply.text).entries()) {
      if (index > 0) {
        // Stopping cuts the stream short: its sockets are closing anyway.
        const stopped = await delay(CHUNK_INTERVAL_MS, false, { signal }).catch((error: unknown) => {
          if (signal.aborted) return true;
          throw error;
        });
        if (stopped) return;
      }
      this.hub.broadcast(conversation, { type: 'reply-chunk', conversation, streamId, text });
    }
    this.hub.broadcast(conversation, {
      type: 'reply-end',
      conversation,
      streamId,
      kind: reply.kind,
      text: reply.text,
      citations: reply.citations.map(({ title, url }) => ({ title, url })),
    });
  }

  /** Observes the pipeline: stage progress, the streamed reply, and each turn's trace, for web turns only. */
  private observe(bot: BotHost): void {
    const conversationOf = (message: IncomingMessage): string | undefined =>
      message.platform === PLATFORM && this.hub.watched(message.channel) ? message.channel : undefined;
    this.unsubscribers.push(
      bot.events.on('stage', ({ turn, stage }) => {
        const conversation = conversationOf(turn.message);
        if (conversation) this.hub.broadcast(conversation, { type: 'stage', conversation, turnId: turn.id, stage });
      }),
      // Emitted just before the bot calls our `deliver`: remember which turn the streamed reply belongs to.
      bot.events.on('reply', ({ turn }) => {
        if (turn.message.platform === PLATFORM && turn.message.id !== undefined) this.turnOfMessage.set(turn.message.id, turn.id);
      }),
      bot.events.on('turn:error', ({ turn, error }) => {
        const conversation = conversationOf(turn.message);
        if (!conversation) return;
        this.turnErrors.set(turn.id, error);
        this.hub.broadcast(conversation, { type: 'trace', conversation, trace: toTurnTrace(turn, { error }) });
      }),
      bot.events.on('turn:end', ({ turn, ms }) => {
        const error = this.turnErrors.get(turn.id);
        this.turnErrors.delete(turn.id);
        const conversation = conversationOf(turn.message);
        if (conversation) this.hub.broadcast(conversation, { type: 'trace', conversation, trace: toTurnTrace(turn, { ms, error }) });
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
