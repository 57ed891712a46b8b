/**
 * The Slack adapter, on Bolt: the HTTP receiver (Events API, every request's signature checked)
 * or Socket Mode, chosen by config. It answers `app_mention`s in the mention's thread and direct
 * messages, posting a "thinking" placeholder at once and replacing it with the reply (a
 * one-candidate reply replaces it as it is written, or streams through Slack's own streaming);
 * rateable replies carry Slack's feedback buttons, and a 👎 opens a modal that asks why. It serves
 * the bot's command table as slash commands and ignores Slack's retries of events it already has.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { format } from 'node:util';
import { App, HTTPReceiver, LogLevel, type BlockFeedbackButtonsAction, type Logger as BoltLogger, type webApi } from '@slack/bolt';
import type { Adapter, BotHost, ConversationAddress, IncomingMessage, Logger } from '../../core/index.js';
import { InFlight, isConfiguredAdmin, passesFilter } from '../../core/index.js';
import { resolveSlackConfig, slackConfigSchema, type SlackAdapterConfig } from './config.js';
import { RecentIds } from './dedupe.js';
import { FEEDBACK_ACTION, parseFeedbackValue, parseReasonMetadata, REASON_BLOCK, REASON_VIEW, reasonView } from './feedback.js';
import { formatReply, incomingText } from './format.js';
import { guardRequests } from './request-guard.js';
import { SlackReplyMessage } from './stream.js';

export { slackConfigSchema as configSchema } from './config.js';
export type { SlackAdapterConfig } from './config.js';

type WebClient = webApi.WebClient;

/** Shown in place of the placeholder when the reply could not be delivered. */
const UNDELIVERED = 'Sorry, I could not finish that reply. Please try again.';
/** Slack re-sends an event for up to about an hour (immediately, after 1 and after 5 minutes, ...). */
const EVENT_MEMORY_MS = 2 * 60 * 60 * 1000;

/** What the adapter reads from `app_mention` and `message` events. */
interface UserMessageEvent {
  channel: string;
  user?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  bot_id?: string;
  subtype?: string;
  channel_type?: string;
}

export class SlackAdapter implements Adapter<Partial<SlackAdapterConfig>> {
  readonly name = 'slack';
  readonly configSchema = slackConfigSchema;
  private app?: App;
  private server?: Server;
  private bot?: BotHost;
  private config?: SlackAdapterConfig;
  private logger?: Logger;
  private readonly recentEvents = new RecentIds(10_000);
  /** Answers underway, so that stop() lets them finish. */
  private readonly inflight = new InFlight();

  /** The port the http receiver listens on (useful with `port: 0`). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async start(bot: BotHost, rawConfig: Partial<SlackAdapterConfig>): Promise<void> {
    const config = resolveSlackConfig(rawConfig);
    const logger = bot.logger.child({ adapter: this.name });
    const socketMode = config.mode === 'socket';
    let receiver: HTTPReceiver | undefined;
    if (!socketMode) {
      receiver = new HTTPReceiver({ signingSecret: config.signingSecret!, endpoints: config.path, logger: boltLogger(logger) });
      receiver.requestListener = guardRequests(receiver.requestListener, { signingSecret: config.signingSecret!, endpoints: [config.path], logger });
    }
    const app = new App({
      token: config.botToken,
      ...(receiver ? { receiver } : { socketMode, appToken: config.appToken }),
      clientOptions: config.apiUrl ? { slackApiUrl: config.apiUrl } : undefined,
      logger: boltLogger(logger),
      // Initialize (auth.test) inside start() so a bad token fails the start, not a later event.
      deferInitialization: true,
    });
    this.app = app;
    this.bot = bot;
    this.config = config;
    this.logger = logger;

    app.use(async ({ body, context, next }) => {
      const eventId = (body as { event_id?: unknown }).event_id;
      if (typeof eventId === 'string' && !(await this.firstDelivery(eventId))) {
        logger.info({ eventId, retryNum: context.retryNum, retryReason: context.retryReason }, 'ignored a repeated Slack event');
        return;
      }
      await next();
    });
    app.event('app_mention', async ({ event, client, context }) => {
      // A mention starts (or continues) a thread under the mentioning message.
      const thread = event.thread_ts ?? event.ts;
      await this.track(this.answer(client, event, thread, context.botUserId, context.teamId));
    });
    app.event('message', async ({ event, client, context }) => {
      const message = event as UserMessageEvent;
      // Channel messages arrive as app_mention; here only plain DMs from people.
      if (message.channel_type !== 'im' || message.subtype !== undefined) return;
      await this.track(this.answer(client, message, message.thread_ts, context.botUserId, context.teamId));
    });
    app.action<BlockFeedbackButtonsAction>(FEEDBACK_ACTION, async ({ ack, body, action, client }) => {
      await ack();
      await this.track(this.onFeedback(client, body, action.value));
    });
    app.view(REASON_VIEW, async ({ ack, view, body }) => {
      // Answered within Slack's 3 s: recording is quick, and a failure is shown in the modal.
      const metadata = parseReasonMetadata(view.private_metadata);
      const address = metadata && this.address(metadata.channel, metadata.thread);
      if (!metadata || !address) return void (await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'This reply can no longer be rated.' } }));
      const reason = view.state.values[REASON_BLOCK]?.[REASON_BLOCK]?.value ?? undefined;
      const outcome = await bot.rate({ turnId: metadata.turnId, rating: metadata.rating, reason, user: { id: body.user.id }, address });
      await ack(outcome.ok ? undefined : { response_action: 'errors', errors: { [REASON_BLOCK]: outcome.message } });
    });
    for (const command of bot.commands.values()) this.serveCommand(app, command.name);
    app.error(async (error) => logger.error({ err: error }, 'Slack event failed'));

    await app.init();
    if (socketMode) await app.start();
    else this.server = (await app.start({ port: config.port, host: config.host })) as Server;
    logger.info({ mode: config.mode, port: this.port }, 'connected to Slack');
  }

  /** Stops receiving, then lets answers already underway go out. */
  async stop(): Promise<void> {
    await this.app?.stop();
    await this.inflight.drain();
    this.app = undefined;
    this.server = undefined;
  }

  /**
   * True the first time an event id arrives: remembered in the history store (so across restarts
   * and processes sharing it); in this process only while the store cannot be reached.
   */
  private async firstDelivery(eventId: string): Promise<boolean> {
    const { bot, logger } = this.ctx;
    const inProcess = this.recentEvents.add(eventId);
    try {
      return (await bot.claimOnce(`slack:event:${eventId}`, EVENT_MEMORY_MS)) && inProcess;
    } catch (error) {
      logger.warn({ err: error, eventId }, 'could not record the Slack event id in the history store; checking this process only');
      return inProcess;
    }
  }

  /** Returns `work` unchanged (Bolt reports its errors), remembering it until it settles. */
  private track(work: Promise<void>): Promise<void> {
    return this.inflight.track(work);
  }

  private get ctx(): { bot: BotHost; config: SlackAdapterConfig; logger: Logger } {
    if (!this.bot || !this.config || !this.logger) throw new Error('The Slack adapter is not started');
    return { bot: this.bot, config: this.config, logger: this.logger };
  }

  /** 👍 is recorded and confirmed to the clicker alone; 👎 is recorded and a modal asks why. */
  private async onFeedback(client: WebClient, body: BlockFeedbackButtonsAction, value: string): Promise<void> {
    const { bot, logger } = this.ctx;
    const target = parseFeedbackValue(value);
    const channel = body.channel?.id;
    const thread = body.message?.thread_ts as string | undefined;
    const address = channel ? this.address(channel, thread) : undefined;
    if (!target || !channel || !address) return;
    const outcome = await bot.rate({ ...target, user: { id: body.user.id }, address });
    if (outcome.ok && target.rating === 'down') {
      await client.views.open({ trigger_id: body.trigger_id, view: reasonView({ ...target, channel, ...(thread ? { thread } : {}) }) });
      return;
    }
    if (!outcome.ok) logger.info({ turn: target.turnId }, `feedback not recorded: ${outcome.message}`);
    await client.chat.postEphemeral({ channel, user: body.user.id, text: outcome.message, ...(thread ? { thread_ts: thread } : {}) });
  }

  /** Answers a person's message in `replyThread` (top level when undefined), through a placeholder. */
  private async answer(client: WebClient, event: UserMessageEvent, replyThread: string | undefined, botUserId: string | undefined, teamId: string | undefined): Promise<void> {
    const { bot, config, logger } = this.ctx;
    if (event.bot_id || !event.user || event.user === botUserId) return;
    const address = this.address(event.channel, replyThread);
    if (!address) return;
    const incoming: IncomingMessage = {
      ...address,
      text: incomingText(event.text ?? '', botUserId),
      id: event.ts,
      user: { id: event.user, isAdmin: isConfiguredAdmin(config, { id: event.user }) },
    };
    // Queue the turn first so a conversation's messages are answered in arrival order; the
    // placeholder goes up meanwhile and the reply replaces it.
    const placeholder = client.chat.postMessage({ channel: event.channel, thread_ts: replyThread, text: config.thinking });
    // Awaited by the delivery below; this only keeps Node from flagging a failure before that.
    placeholder.catch(() => undefined);
    const message = new SlackReplyMessage(
      { client, channel: event.channel, thread: replyThread, placeholder, recipient: { user: event.user, team: teamId } },
      { mode: config.stream, intervalMs: config.streamIntervalMs, feedback: config.feedback, logger },
    );
    let delivered = false;
    try {
      await bot.handle(
        incoming,
        async (reply) => {
          await message.finish(reply);
          delivered = true;
        },
        { stream: message.stream },
      );
    } catch (error) {
      // A reply the user got stands; otherwise do not leave "thinking" up forever. The error itself is reported by the caller.
      const posted = delivered ? undefined : await placeholder.catch(() => undefined);
      if (posted?.ts) {
        await client.chat.update({ channel: event.channel, ts: posted.ts, text: UNDELIVERED }).catch((cause: unknown) => logger.warn({ err: cause }, 'could not replace the placeholder'));
      }
      throw error;
    }
  }

  /** Slash command `/<prefix><name>`: answered ephemerally through its response_url. */
  private serveCommand(app: App, name: string): void {
    const { bot, config } = this.ctx;
    app.command(`/${config.commandPrefix}${name}`, async ({ command, ack, respond }) => {
      const address = this.address(command.channel_id, undefined);
      if (!address) {
        await ack({ response_type: 'ephemeral', text: 'I am not set up to answer in this channel.' });
        return;
      }
      // Ack within Slack's 3 s; the command may wait behind a reply being generated here.
      await ack();
      const incoming: IncomingMessage = {
        ...address,
        text: command.text.trim() ? `/${name} ${command.text.trim()}` : `/${name}`,
        id: command.trigger_id,
        user: { id: command.user_id, name: command.user_name, isAdmin: isConfiguredAdmin(config, { id: command.user_id }) },
      };
      await this.track(
        bot.handle(incoming, async (reply) => {
          await respond({ response_type: 'ephemeral', text: formatReply(reply) });
        }).then(() => undefined),
      );
    });
  }

  /** History key is channel + thread; DMs (`D...` channels) and channel lists are checked here. */
  private address(channel: string, thread: string | undefined): ConversationAddress | undefined {
    const { config } = this.ctx;
    const isDm = channel.startsWith('D');
    if (isDm ? !config.dms : !passesFilter(config.channels, [channel])) return undefined;
    return thread ? { platform: this.name, channel, thread } : { platform: this.name, channel };
  }
}

/** Bolt's logger interface on top of the bot's pino logger (pino decides the level). */
function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...parts: unknown[]) => logger.debug(format(...parts)),
    info: (...parts: unknown[]) => logger.info(format(...parts)),
    warn: (...parts: unknown[]) => logger.warn(format(...parts)),
    error: (...parts: unknown[]) => logger.error(format(...parts)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export default function createSlackAdapter(): SlackAdapter {
  return new SlackAdapter();
}
