/**
 * A local stand-in for Slack: the Web API methods the adapter calls (Bolt's client is pointed
 * here with `slackApiUrl`), response_url endpoints for slash commands, a Socket Mode WebSocket
 * (`apps.connections.open` hands out its URL), and helpers that sign requests the way Slack does.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { startLoopbackServer, type LoopbackServer } from './loopback.js';

export interface PostedMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  /** The text now (after any chat.update). */
  text: string;
  /** Every text it had, first to last. */
  versions: string[];
  /** Its blocks now (the reply's sections and feedback buttons). */
  blocks?: { type: string; block_id?: string; elements?: { type: string; action_id?: string; positive_button?: { value: string }; negative_button?: { value: string } }[] }[];
  /** When the stand-in received each write of it (post, updates, stream appends), from performance.now(). */
  writes: number[];
  /** Set for messages made with chat.startStream: whether the stream is still open. */
  stream?: 'open' | 'stopped';
  deleted?: boolean;
}

/** A modal the bot opened with views.open. */
export interface OpenedView {
  triggerId: string;
  view: { callback_id: string; private_metadata: string; blocks: { block_id: string; element: { action_id: string } }[] };
}

let clock = 1_700_000_000_000;
/** Slack message timestamps: unique, increasing, `seconds.micros`. */
export function slackTs(): string {
  clock += 1;
  return `${Math.floor(clock / 1000)}.${String(clock % 1000).padStart(3, '0')}000`;
}

export class SlackStandIn {
  readonly botToken = 'xoxb-stand-in';
  readonly appToken = 'xapp-stand-in';
  readonly signingSecret = 'stand-in-signing-secret';
  readonly botUserId = 'UBANTER';
  readonly teamId = 'TSTANDIN';
  readonly calls: { method: string; body: Record<string, unknown> }[] = [];
  readonly messages: PostedMessage[] = [];
  /** Bodies POSTed to response_url endpoints, by the id in the URL. */
  readonly responses: { id: string; body: { text: string; response_type?: string } }[] = [];
  /** Socket Mode envelope ids the client acknowledged. */
  readonly acks = new Set<string>();
  readonly views: OpenedView[] = [];
  readonly ephemerals: { channel: string; user: string; text: string; thread_ts?: string }[] = [];
  private readonly pings: NodeJS.Timeout[] = [];

  private constructor(
    private readonly loopback: LoopbackServer,
  ) {}

  static async start(): Promise<SlackStandIn> {
    let standIn: SlackStandIn | undefined;
    const loopback = await startLoopbackServer(
      '/socket',
      (req, res) => void standIn!.onRequest(req, res),
      (socket) => standIn!.onSocket(socket),
    );
    standIn = new SlackStandIn(loopback);
    return standIn;
  }


  /** For the adapter's `apiUrl` (Bolt's `clientOptions.slackApiUrl`). */
  get apiUrl(): string {
    return `http://${this.loopback.origin}/api/`;
  }

  responseUrl(id: string): string {
    return `http://${this.loopback.origin}/respond/${id}`;
  }

  /** Messages in a channel, optionally only those in one thread, oldest first. */
  messagesIn(channel: string, thread?: string): PostedMessage[] {
    return this.messages.filter((m) => m.channel === channel && (thread === undefined || m.thread_ts === thread));
  }

  get socketCount(): number {
    return this.loopback.sockets.size;
  }

  /** Sends a Socket Mode envelope (a retry when `retryAttempt` > 0) to every connected client; resolves when one acknowledges it. */
  async sendEnvelope(type: 'events_api' | 'slash_commands', payload: unknown, retryAttempt = 0): Promise<string> {
    const envelopeId = randomUUID();
    const retry = retryAttempt > 0 ? { retry_attempt: retryAttempt, retry_reason: 'timeout' } : { retry_attempt: 0, retry_reason: '' };
    for (const socket of this.loopback.sockets) {
      socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api', ...retry }));
    }
    await this.waitFor(`ack of envelope ${envelopeId}`, () => this.acks.has(envelopeId));
    return envelopeId;
  }

  async waitFor(what: string, check: () => boolean, timeoutMs = 45_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    for (const timer of this.pings) clearInterval(timer);
    await this.loopback.close();
  }

  private onSocket(socket: WebSocket): void {
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { envelope_id?: string };
      if (message.envelope_id) this.acks.add(message.envelope_id);
    });
    // Slack pings the client; the client reconnects when pings stop.
    this.pings.push(setInterval(() => socket.ping(), 5_000));
    socket.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'stand-in', approximate_connection_time: 3600 }, connection_info: { app_id: 'ASTANDIN' } }));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const body: Record<string, unknown> = (req.headers['content-type'] ?? '').includes('json')
      ? (JSON.parse(text) as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(text));
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
    const json = (payload: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (path.startsWith('/respond/')) {
      this.responses.push({ id: path.slice('/respond/'.length), body: body as { text: string } });
      return json({ ok: true });
    }
    const method = path.replace(/^\/api\//, '');
    this.calls.push({ method, body });
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? body.token;
    const expected = method === 'apps.connections.open' ? this.appToken : this.botToken;
    if (token !== expected) return json({ ok: false, error: 'invalid_auth' });
    const message = () => this.messages.find((m) => m.channel === body.channel && m.ts === body.ts && !m.deleted);
    const parse = (value: unknown) => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value);
    switch (method) {
      case 'auth.test':
        return json({ ok: true, url: 'https://stand-in.slack.com/', team: 'Stand-in', user: 'banter', team_id: this.teamId, user_id: this.botUserId, bot_id: 'BBANTER', is_enterprise_install: false });
      case 'apps.connections.open':
        return json({ ok: true, url: `ws://${this.loopback.origin}/socket` });
      case 'chat.postMessage':
      case 'chat.startStream': {
        const ts = slackTs();
        const text = String(method === 'chat.postMessage' ? body.text : body.markdown_text);
        const posted: PostedMessage = {
          channel: String(body.channel),
          ts,
          thread_ts: body.thread_ts ? String(body.thread_ts) : undefined,
          text,
          versions: [text],
          writes: [performance.now()],
          ...(method === 'chat.startStream' ? { stream: 'open' as const } : {}),
        };
        if (method === 'chat.startStream' && !posted.thread_ts) return json({ ok: false, error: 'invalid_arguments' });
        this.messages.push(posted);
        return json({ ok: true, channel: posted.channel, ts, message: { type: 'message', user: this.botUserId, text, ts } });
      }
      case 'chat.update': {
        const found = message();
        if (!found) return json({ ok: false, error: 'message_not_found' });
        found.text = String(body.text);
        found.versions.push(found.text);
        found.writes.push(performance.now());
        found.blocks = parse(body.blocks) as PostedMessage['blocks'];
        return json({ ok: true, channel: found.channel, ts: found.ts, text: found.text });
      }
      case 'chat.appendStream':
      case 'chat.stopStream': {
        const found = message();
        if (!found || found.stream !== 'open') return json({ ok: false, error: found ? 'message_not_in_streaming_state' : 'message_not_found' });
        if (body.markdown_text) {
          found.text += String(body.markdown_text);
          found.versions.push(found.text);
        }
        found.writes.push(performance.now());
        if (method === 'chat.stopStream') {
          found.stream = 'stopped';
          if (body.blocks) found.blocks = parse(body.blocks) as PostedMessage['blocks'];
        }
        return json({ ok: true, channel: found.channel, ts: found.ts });
      }
      case 'chat.delete': {
        const found = message();
        if (!found) return json({ ok: false, error: 'message_not_found' });
        found.deleted = true;
        return json({ ok: true, channel: found.channel, ts: found.ts });
      }
      case 'chat.postEphemeral':
        this.ephemerals.push({ channel: String(body.channel), user: String(body.user), text: String(body.text), ...(body.thread_ts ? { thread_ts: String(body.thread_ts) } : {}) });
        return json({ ok: true, message_ts: slackTs() });
      case 'views.open':
        this.views.push({ triggerId: String(body.trigger_id), view: parse(body.view) as OpenedView['view'] });
        return json({ ok: true, view: { id: `V${this.views.length}` } });
      default:
        return json({ ok: false, error: 'unknown_method' });
    }
  }
}

/** Slack's request signature: `v0=` + HMAC-SHA256 of `v0:timestamp:body` with the signing secret. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** POSTs a body to the adapter's receiver as Slack would, signed with `secret`. */
export async function postSigned(
  url: string,
  body: string,
  options: { secret: string; contentType?: string; headers?: Record<string, string>; timestamp?: number },
): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(options.secret, timestamp, body),
      ...options.headers,
    },
    body,
  });
}

/** An Events API callback wrapping `event`. */
export function eventCallback<E extends { ts: string }>(standIn: SlackStandIn, event: E, eventId = `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`) {
  return {
    token: 'legacy-verification-token',
    team_id: standIn.teamId,
    api_app_id: 'ASTANDIN',
    event: { event_ts: event.ts, ...event },
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: standIn.teamId, user_id: standIn.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  };
}

/** The fields every interactive payload has: who, in which workspace, for which app. */
function interactionFrom(standIn: SlackStandIn, user: string) {
  return {
    team: { id: standIn.teamId, domain: 'stand-in' },
    user: { id: user, username: user.toLowerCase(), team_id: standIn.teamId },
    api_app_id: 'ASTANDIN',
    token: 'legacy-verification-token',
  };
}

/** A click on one of a message's feedback buttons, as Slack sends it (`block_actions`). */
export function feedbackClick(standIn: SlackStandIn, options: { message: PostedMessage; user: string; positive: boolean; triggerId: string }) {
  const element = options.message.blocks?.flatMap((block) => block.elements ?? []).find((e) => e.type === 'feedback_buttons');
  if (!element) throw new Error(`message ${options.message.ts} has no feedback buttons`);
  const button = options.positive ? element.positive_button! : element.negative_button!;
  return {
    type: 'block_actions',
    ...interactionFrom(standIn, options.user),
    container: { type: 'message', message_ts: options.message.ts, channel_id: options.message.channel, is_ephemeral: false, thread_ts: options.message.thread_ts },
    trigger_id: options.triggerId,
    channel: { id: options.message.channel, name: 'general' },
    message: { type: 'message', user: standIn.botUserId, ts: options.message.ts, text: options.message.text, ...(options.message.thread_ts ? { thread_ts: options.message.thread_ts } : {}) },
    actions: [{ type: 'feedback_buttons', action_id: element.action_id, block_id: 'feedback', value: button.value, text: { type: 'plain_text', text: options.positive ? 'Good reply' : 'Bad reply' }, action_ts: slackTs() }],
  };
}

/** The submission of a modal the bot opened, with its text inputs' values (`view_submission`). */
export function viewSubmission(standIn: SlackStandIn, options: { opened: OpenedView; user: string; values: Record<string, string> }) {
  const values = Object.fromEntries(
    options.opened.view.blocks.map((block) => [block.block_id, { [block.element.action_id]: { type: 'plain_text_input', value: options.values[block.block_id] ?? null } }]),
  );
  return {
    type: 'view_submission',
    ...interactionFrom(standIn, options.user),
    trigger_id: `trigger-${slackTs()}`,
    view: { id: 'V1', team_id: standIn.teamId, type: 'modal', callback_id: options.opened.view.callback_id, private_metadata: options.opened.view.private_metadata, state: { values }, hash: 'h', blocks: options.opened.view.blocks },
  };
}

/** A slash command's form fields, as Slack POSTs them. */
export function slashCommand(standIn: SlackStandIn, options: { command: string; text?: string; channel: string; user: string; responseId: string }): Record<string, string> {
  return {
    token: 'legacy-verification-token',
    team_id: standIn.teamId,
    team_domain: 'stand-in',
    channel_id: options.channel,
    channel_name: 'general',
    user_id: options.user,
    user_name: options.user.toLowerCase(),
    command: options.command,
    text: options.text ?? '',
    api_app_id: 'ASTANDIN',
    is_enterprise_install: 'false',
    response_url: standIn.responseUrl(options.responseId),
    trigger_id: `trigger-${options.responseId}`,
  };
}
