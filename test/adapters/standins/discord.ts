/**
 * A local stand-in for Discord, enough for discord.js v14 to run against it on loopback: the REST
 * endpoints the adapter uses (under /api/v10) and a gateway WebSocket that speaks HELLO, IDENTIFY,
 * READY, heartbeat/ACK, dispatch, RESUME and RECONNECT (op 7). discord.js learns the gateway URL
 * from `GET /gateway/bot`, so pointing its `rest.api` here is all it needs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { startLoopbackServer, type LoopbackServer } from './loopback.js';

const DISCORD_EPOCH = 1_420_070_400_000n;
let sequence = 0n;

/** A snowflake id; with `shard` set, one that Discord's formula `(id >> 22) % count` puts on that shard. */
export function snowflake(shard?: { id: number; count: number }): string {
  let ms = BigInt(Date.now()) - DISCORD_EPOCH + sequence++;
  if (shard) ms += (BigInt(shard.id) - (ms % BigInt(shard.count)) + BigInt(shard.count)) % BigInt(shard.count);
  return String((ms << 22n) + (sequence % 4096n));
}

export function shardOf(guildId: string, count: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(count));
}

export interface StandInUser {
  id: string;
  username: string;
  bot?: boolean;
}

export interface StandInChannel {
  id: string;
  name: string;
  /** Set for threads: the channel the thread hangs off. */
  parentId?: string;
  /** Threads only: who started it. */
  ownerId?: string;
}

export interface StandInRole {
  id: string;
  name: string;
  permissions: bigint;
}

export interface StandInGuild {
  id: string;
  name: string;
  ownerId: string;
  channels: StandInChannel[];
  /** Besides @everyone (id = guild id, no permissions). */
  roles: StandInRole[];
}

export interface SentMessage {
  id: string;
  channelId: string;
  /** The content now (after any edit). */
  content: string;
  allowedMentions: { parse?: string[]; replied_user?: boolean } | undefined;
  replyTo?: string;
  /** Message components now (action rows of buttons). */
  components: { type: number; components: { type: number; custom_id?: string; label?: string; emoji?: { name?: string } }[] }[];
  /** Every content it had, first to last. */
  versions: string[];
  /** When the stand-in received each write of it (the post, then each edit), from performance.now(). */
  writes: number[];
}

/** A modal the bot opened in answer to an interaction. */
export interface OpenedModal {
  interactionId: string;
  customId: string;
  title: string;
  /** Custom ids of its text inputs. */
  inputs: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  status: number;
}

interface Session {
  id: string;
  shard: [number, number];
  seq: number;
  /** Every dispatch, so a RESUME can replay what the client missed. */
  log: { s: number; t: string; d: unknown }[];
  socket?: WebSocket;
}

interface GatewayPayload {
  op: number;
  d?: unknown;
  s?: number | null;
  t?: string | null;
}

const iso = () => new Date().toISOString();

export class DiscordStandIn {
  readonly token = 'stand-in-bot-token';
  readonly applicationId = snowflake();
  readonly botUser: StandInUser = { id: snowflake(), username: 'banter', bot: true };
  readonly requests: RecordedRequest[] = [];
  readonly sent: SentMessage[] = [];
  /** Channel ids, one entry per typing POST. */
  readonly typing: string[] = [];
  readonly commandRegistrations: { path: string; body: { name: string; options?: { name: string }[] }[] }[] = [];
  readonly interactionCallbacks: { interactionId: string; type: number }[] = [];
  readonly modals: OpenedModal[] = [];
  /** Ephemeral interaction answers: the deferred reply's edit and follow-ups, by interaction token. */
  readonly interactionMessages: { token: string; content: string; allowedMentions: unknown }[] = [];
  /** Gateway sessions by shard id (the newest one for each shard). */
  readonly sessions = new Map<number, Session>();
  readonly identifies: [number, number][] = [];
  readonly resumes: string[] = [];
  private readonly allSessions = new Map<string, Session>();
  private readonly rateLimited = new Map<string, number>();
  /** Per channel, the failures the next message sends get, in order. */
  private readonly sendFaults = new Map<string, { status: number; afterCreate: boolean }[]>();
  /** Sends whose content includes one of these fail with a 500, every time. */
  private readonly refusedContent: string[] = [];
  /** Messages by `channel:nonce`, for sends that ask Discord to enforce the nonce. */
  private readonly byNonce = new Map<string, unknown>();

  private constructor(
    private readonly loopback: LoopbackServer,
    readonly guilds: StandInGuild[],
    private readonly recommendedShards: number,
  ) {}

  static async start(options: { guilds: StandInGuild[]; shards?: number }): Promise<DiscordStandIn> {
    let standIn: DiscordStandIn | undefined;
    const loopback = await startLoopbackServer(
      '/gateway',
      (req, res) => void standIn!.onRequest(req, res),
      (socket) => standIn!.onConnection(socket),
    );
    standIn = new DiscordStandIn(loopback, options.guilds, options.shards ?? 1);
    return standIn;
  }


  /** For discord.js's `rest.api` option. */
  get api(): string {
    return `http://${this.loopback.origin}/api`;
  }

  get gatewayUrl(): string {
    return `ws://${this.loopback.origin}/gateway`;
  }

  channel(id: string): { guild?: StandInGuild; channel?: StandInChannel } {
    for (const guild of this.guilds) {
      const channel = guild.channels.find((c) => c.id === id);
      if (channel) return { guild, channel };
    }
    return {};
  }

  /** The next `count` message sends to the channel get a 429 with a short Retry-After. */
  rateLimitNextSends(channelId: string, count: number): void {
    this.rateLimited.set(channelId, count);
  }

  /**
   * The next `count` message sends to the channel fail with `status`; with `afterCreate` the
   * message is created first and only the answer is lost (a gateway timeout after the write).
   */
  failNextSends(channelId: string, count: number, options: { status?: number; afterCreate?: boolean } = {}): void {
    const faults = this.sendFaults.get(channelId) ?? [];
    for (let i = 0; i < count; i++) faults.push({ status: options.status ?? 500, afterCreate: options.afterCreate ?? false });
    this.sendFaults.set(channelId, faults);
  }

  /** Every send whose content includes `text` fails with a 500 (an outage for that message). */
  refuseSendsContaining(text: string): void {
    this.refusedContent.push(text);
  }

  /** A person (or another bot) posts in a guild channel, a thread or, with `dm`, a DM channel. */
  postMessage(options: { channelId: string; author: StandInUser; content: string; roles?: string[]; dm?: boolean }): string {
    const { guild } = this.channel(options.channelId);
    if (!guild && !options.dm) throw new Error(`No channel ${options.channelId} in the stand-in's guilds`);
    const id = snowflake();
    const mentionIds = [...options.content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]);
    const known = [this.botUser, options.author];
    const data = {
      ...this.messageObject(id, options.channelId, options.author, options.content),
      mentions: known.filter((u) => mentionIds.includes(u.id)).map(userObject),
      ...(guild ? { guild_id: guild.id, member: memberObject(options.roles ?? []) } : {}),
      // Discord names the channel type on MESSAGE_CREATE; discord.js needs it to build DM channels.
      channel_type: options.dm ? 1 : this.channel(options.channelId).channel?.parentId ? 11 : 0,
    };
    this.dispatch('MESSAGE_CREATE', data, guild?.id);
    return id;
  }

  /** A person runs a slash command, as registered by the adapter; returns the interaction token. */
  runCommand(options: { channelId: string; user: StandInUser; name: string; value?: string; permissions?: bigint; roles?: string[] }): string {
    const registered = this.commandRegistrations.at(-1)?.body.find((c) => c.name === options.name);
    if (!registered) throw new Error(`The adapter has not registered /${options.name}`);
    const optionName = registered.options?.[0]?.name;
    return this.interaction(2, options, {
      id: snowflake(),
      name: options.name,
      type: 1,
      ...(options.value !== undefined && optionName ? { options: [{ name: optionName, type: 3, value: options.value }] } : {}),
    });
  }

  /** A person clicks a button under one of the bot's messages; returns the interaction token. */
  clickButton(options: { messageId: string; customId: string; user: StandInUser }): string {
    const sent = this.sent.find((m) => m.id === options.messageId);
    if (!sent) throw new Error(`The bot sent no message ${options.messageId}`);
    const button = sent.components.flatMap((row) => row.components).find((c) => c.custom_id === options.customId);
    if (!button) throw new Error(`Message ${options.messageId} has no button ${options.customId}`);
    const { guild } = this.channel(sent.channelId);
    const message = { ...this.messageObject(sent.id, sent.channelId, this.botUser, sent.content), components: sent.components, ...(guild ? { guild_id: guild.id } : {}) };
    return this.interaction(3, { channelId: sent.channelId, user: options.user }, { custom_id: options.customId, component_type: 2 }, { message });
  }

  /** A person submits a modal the bot opened, with its text inputs' values; returns the interaction token. */
  submitModal(options: { modal: OpenedModal; channelId: string; user: StandInUser; values: Record<string, string> }): string {
    const components = options.modal.inputs.map((customId, index) => ({ type: 18, id: index + 1, component: { type: 4, id: index + 100, custom_id: customId, value: options.values[customId] ?? '' } }));
    return this.interaction(5, options, { custom_id: options.modal.customId, components });
  }

  /** Dispatches an interaction of `type` in a guild channel, as Discord would; returns its token. */
  private interaction(type: number, options: { channelId: string; user: StandInUser; permissions?: bigint; roles?: string[] }, data: unknown, extra: Record<string, unknown> = {}): string {
    const { guild, channel } = this.channel(options.channelId);
    if (!guild || !channel) throw new Error(`No channel ${options.channelId} in the stand-in's guilds`);
    const token = `interaction-token-${snowflake()}`;
    this.dispatch(
      'INTERACTION_CREATE',
      {
        id: snowflake(),
        application_id: this.applicationId,
        type,
        token,
        version: 1,
        data,
        ...extra,
        guild_id: guild.id,
        guild: { id: guild.id, locale: 'en-US', features: [] },
        channel_id: channel.id,
        channel: channelObject(guild, channel),
        member: { ...memberObject(options.roles ?? []), user: userObject(options.user), permissions: String(options.permissions ?? 0n) },
        app_permissions: '0',
        locale: 'en-US',
        guild_locale: 'en-US',
        entitlements: [],
        authorizing_integration_owners: { '0': guild.id },
        context: 0,
      },
      guild.id,
    );
    return token;
  }

  /** Cuts every gateway connection without a close frame (like a network drop); sessions stay resumable. */
  dropConnections(): void {
    for (const socket of this.loopback.sockets) socket.terminate();
  }

  /** Asks every connected client to reconnect (op 7), as Discord does before moving a session. */
  requestReconnect(): void {
    for (const socket of this.loopback.sockets) send(socket, { op: 7, d: null });
  }

  /** Waits until `check` holds (polling); fails with `what` after `timeoutMs`. */
  async waitFor(what: string, check: () => boolean, timeoutMs = 45_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    await this.loopback.close();
  }

  // --- gateway ---------------------------------------------------------------------------------

  private onConnection(socket: WebSocket): void {
    send(socket, { op: 10, d: { heartbeat_interval: 30_000 } });
    socket.on('message', (raw) => this.onGatewayPayload(socket, JSON.parse(String(raw)) as GatewayPayload));
  }

  private onGatewayPayload(socket: WebSocket, payload: GatewayPayload): void {
    switch (payload.op) {
      case 1: // heartbeat
        send(socket, { op: 11 });
        return;
      case 2:
        return this.identify(socket, payload.d as { token: string; shard?: [number, number] });
      case 6:
        return this.resume(socket, payload.d as { token: string; session_id: string; seq: number });
      default:
        return; // presence updates and the like: nothing to do
    }
  }

  private identify(socket: WebSocket, d: { token: string; shard?: [number, number] }): void {
    if (d.token !== this.token) {
      socket.close(4004, 'Authentication failed.');
      return;
    }
    const shard = d.shard ?? [0, 1];
    this.identifies.push(shard);
    const session: Session = { id: `session-${snowflake()}`, shard, seq: 0, log: [], socket };
    this.sessions.set(shard[0], session);
    this.allSessions.set(session.id, session);
    const guilds = this.guilds.filter((g) => shardOf(g.id, shard[1]) === shard[0]);
    this.emit(session, 'READY', {
      v: 10,
      user: userObject(this.botUser),
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.gatewayUrl,
      shard,
      application: { id: this.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      auth: {},
    });
    for (const guild of guilds) this.emit(session, 'GUILD_CREATE', this.guildObject(guild));
  }

  private resume(socket: WebSocket, d: { token: string; session_id: string; seq: number }): void {
    const session = this.allSessions.get(d.session_id);
    if (!session || d.token !== this.token) {
      send(socket, { op: 9, d: false });
      return;
    }
    this.resumes.push(session.id);
    session.socket = socket;
    for (const event of session.log.filter((e) => e.s > d.seq)) send(socket, { op: 0, ...event });
    this.emit(session, 'RESUMED', {});
  }

  /** Sends an event to the shard that owns the guild (DMs go to shard 0), or queues it for replay. */
  private dispatch(t: string, d: unknown, guildId: string | undefined): void {
    const shard = [...this.sessions.values()].find((s) => (guildId ? shardOf(guildId, s.shard[1]) : 0) === s.shard[0]);
    if (!shard) throw new Error(`No gateway session owns ${guildId ? `guild ${guildId}` : 'DMs'}`);
    this.emit(shard, t, d);
  }

  private emit(session: Session, t: string, d: unknown): void {
    const event = { s: ++session.seq, t, d };
    session.log.push(event);
    if (session.socket && session.socket.readyState === session.socket.OPEN) send(session.socket, { op: 0, ...event });
  }

  private guildObject(guild: StandInGuild): unknown {
    const roles = [{ id: guild.id, name: '@everyone', permissions: 0n }, ...guild.roles];
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      owner_id: guild.ownerId,
      roles: roles.map((r, position) => ({ id: r.id, name: r.name, permissions: String(r.permissions), position, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 })),
      channels: guild.channels.filter((c) => !c.parentId).map((c) => channelObject(guild, c)),
      threads: guild.channels.filter((c) => c.parentId).map((c) => channelObject(guild, c)),
      members: [{ ...memberObject([]), user: userObject(this.botUser) }],
      member_count: 2,
      large: false,
      unavailable: false,
      joined_at: iso(),
      features: [],
      emojis: [],
      stickers: [],
      voice_states: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      premium_tier: 0,
      system_channel_flags: 0,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      preferred_locale: 'en-US',
      afk_timeout: 300,
    };
  }

  private messageObject(id: string, channelId: string, author: StandInUser, content: string) {
    return {
      id,
      channel_id: channelId,
      author: userObject(author),
      content,
      timestamp: iso(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [] as unknown[],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 0,
      flags: 0,
    };
  }

  // --- REST ------------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const body: unknown = text ? JSON.parse(text) : undefined;
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://stand-in').pathname).replace(/^\/api\/v10/, '');
    const method = req.method ?? 'GET';
    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method, path, body, status });
      res.writeHead(status, payload === undefined ? headers : { 'content-type': 'application/json', ...headers });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    if (req.headers.authorization !== `Bot ${this.token}` && !path.startsWith('/webhooks/') && !path.startsWith('/interactions/')) {
      return reply(401, { message: '401: Unauthorized', code: 0 });
    }
    let match: RegExpExecArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return reply(200, {
        url: this.gatewayUrl,
        shards: this.recommendedShards,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 60_000, max_concurrency: 16 },
      });
    }
    if (method === 'GET' && path === '/users/@me') return reply(200, userObject(this.botUser));
    if (method === 'POST' && (match = /^\/channels\/(\d+)\/typing$/.exec(path))) {
      this.typing.push(match[1]);
      return reply(204);
    }
    if (method === 'POST' && (match = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      const channelId = match[1];
      const limited = this.rateLimited.get(channelId) ?? 0;
      if (limited > 0) {
        this.rateLimited.set(channelId, limited - 1);
        return reply(
          429,
          { message: 'You are being rate limited.', retry_after: 0.2, global: false },
          { 'retry-after': '0.2', 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': '0.2', 'x-ratelimit-bucket': 'stand-in-bucket', 'x-ratelimit-scope': 'user' },
        );
      }
      const sent = body as {
        content: string;
        allowed_mentions?: SentMessage['allowedMentions'];
        message_reference?: { message_id: string };
        nonce?: string | number;
        enforce_nonce?: boolean;
        components?: SentMessage['components'];
      };
      const serverError = (status: number) => reply(status, { message: `${status}: Server Error`, code: 0 });
      const fault = this.sendFaults.get(channelId)?.shift();
      if (fault && !fault.afterCreate) return serverError(fault.status);
      if (this.refusedContent.some((text) => sent.content.includes(text))) return serverError(500);
      // As Discord does: with enforce_nonce, a nonce already used in the channel returns that message, posting nothing.
      const nonceKey = sent.nonce === undefined ? undefined : `${channelId}:${sent.nonce}`;
      if (sent.enforce_nonce && nonceKey && this.byNonce.has(nonceKey)) return reply(200, this.byNonce.get(nonceKey));
      const id = snowflake();
      const components = sent.components ?? [];
      this.sent.push({ id, channelId, content: sent.content, allowedMentions: sent.allowed_mentions, replyTo: sent.message_reference?.message_id, components, versions: [sent.content], writes: [performance.now()] });
      const { guild } = this.channel(channelId);
      const message = {
        ...this.messageObject(id, channelId, this.botUser, sent.content),
        components,
        ...(guild ? { guild_id: guild.id } : {}),
        ...(sent.nonce !== undefined ? { nonce: sent.nonce } : {}),
      };
      if (nonceKey) this.byNonce.set(nonceKey, message);
      if (fault) serverError(fault.status);
      else reply(200, message);
      // Discord echoes the bot's own message on the gateway: the adapter must ignore it.
      this.dispatch('MESSAGE_CREATE', message, guild?.id);
      return;
    }
    if (method === 'PATCH' && (match = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      const message = this.sent.find((m) => m.channelId === match![1] && m.id === match![2]);
      if (!message) return reply(404, { message: 'Unknown Message', code: 10008 });
      const edit = body as { content?: string; components?: SentMessage['components'] };
      message.writes.push(performance.now());
      if (edit.content !== undefined) {
        message.content = edit.content;
        message.versions.push(edit.content);
      }
      if (edit.components !== undefined) message.components = edit.components;
      const { guild } = this.channel(message.channelId);
      return reply(200, { ...this.messageObject(message.id, message.channelId, this.botUser, message.content), components: message.components, edited_timestamp: iso(), ...(guild ? { guild_id: guild.id } : {}) });
    }
    if (method === 'PUT' && (match = /^\/applications\/(\d+)(?:\/guilds\/\d+)?\/commands$/.exec(path)) && match[1] === this.applicationId) {
      const commands = body as { name: string; options?: { name: string }[] }[];
      this.commandRegistrations.push({ path, body: commands });
      return reply(
        200,
        commands.map((c) => ({ ...c, id: snowflake(), application_id: this.applicationId, type: 1, version: snowflake(), default_member_permissions: null, contexts: null, integration_types: [0] })),
      );
    }
    if (method === 'POST' && (match = /^\/interactions\/(\d+)\/[^/]+\/callback$/.exec(path))) {
      const callback = body as { type: number; data?: { content?: string; custom_id?: string; title?: string; components?: { component?: { custom_id?: string }; components?: { custom_id?: string }[] }[] } };
      this.interactionCallbacks.push({ interactionId: match[1], type: callback.type });
      const data = callback.data;
      if (data?.content !== undefined) this.interactionMessages.push({ token: path.split('/')[3], content: data.content, allowedMentions: undefined });
      if (callback.type === 9 && data) {
        // Labels (type 18) hold one component; legacy action rows hold a list.
        const inputs = (data.components ?? []).flatMap((c) => (c.component ? [c.component] : (c.components ?? []))).map((c) => c.custom_id ?? '');
        this.modals.push({ interactionId: match[1], customId: data.custom_id ?? '', title: data.title ?? '', inputs });
      }
      return reply(204);
    }
    if ((match = /^\/webhooks\/(\d+)\/([^/]+)(\/messages\/@original)?$/.exec(path)) && (method === 'PATCH' || method === 'POST')) {
      const sent = body as { content: string; allowed_mentions?: unknown };
      this.interactionMessages.push({ token: match[2], content: sent.content, allowedMentions: sent.allowed_mentions });
      return reply(200, { ...this.messageObject(snowflake(), '0', this.botUser, sent.content), webhook_id: this.applicationId, flags: 64 });
    }
    return reply(404, { message: `Unknown route ${method} ${path}`, code: 0 });
  }
}

function send(socket: WebSocket, payload: GatewayPayload): void {
  socket.send(JSON.stringify({ s: null, t: null, d: null, ...payload }));
}

function userObject(user: StandInUser) {
  return { id: user.id, username: user.username, global_name: user.username, discriminator: '0', avatar: null, bot: user.bot ?? false };
}

function memberObject(roles: string[]) {
  return { roles, joined_at: iso(), deaf: false, mute: false, flags: 0, nick: null, avatar: null, premium_since: null, pending: false, communication_disabled_until: null };
}

function channelObject(guild: StandInGuild, channel: StandInChannel) {
  if (channel.parentId) {
    return {
      id: channel.id,
      type: 11,
      guild_id: guild.id,
      parent_id: channel.parentId,
      owner_id: channel.ownerId,
      name: channel.name,
      thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: iso(), locked: false },
      message_count: 0,
      member_count: 1,
      rate_limit_per_user: 0,
      flags: 0,
    };
  }
  return { id: channel.id, type: 0, guild_id: guild.id, name: channel.name, position: 0, permission_overwrites: [], nsfw: false, topic: null, last_message_id: null, parent_id: null, rate_limit_per_user: 0 };
}
