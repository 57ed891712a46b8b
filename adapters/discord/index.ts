/**
 * The Discord adapter: discord.js's gateway client turns mentions, DMs and thread messages into
 * IncomingMessages and sends the bot's replies back. Turns of one conversation (a channel or a
 * thread) run one at a time in the core, with the send inside the turn, so each channel's replies
 * leave in order, one after another (the per-channel reply queue) while discord.js's REST queue
 * waits out 429s. Replies go over REST, so a gateway reconnect does not touch queued replies.
 * A one-candidate reply is posted as it is written and edited as it grows, no more often than
 * `streamEditIntervalMs`; rateable replies carry 👍/👎 buttons (a 👎 opens a form that asks why).
 */
import { once } from 'node:events';
import {
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  PermissionFlagsBits,
  type PermissionsBitField,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Guild,
  type Interaction,
  type Message,
  type MessageMentionOptions,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { Adapter, BotHost, ConversationAddress, IncomingMessage, Logger } from '../../core/index.js';
import { InFlight, isConfiguredAdmin, passesFilter, ThrottledWriter, TypingIndicators } from '../../core/index.js';
import { commandText, slashCommands } from './commands.js';
import { discordConfigSchema, resolveDiscordConfig, type DiscordAdapterConfig } from './config.js';
import { feedbackButtons, parseFeedbackButton, parseReasonForm, REASON_FIELD, reasonForm, type FeedbackTarget } from './feedback.js';
import { DISCORD_MESSAGE_LIMIT, replyPieces } from './format.js';
import { sendWithRetries } from './send.js';

export { discordConfigSchema as configSchema } from './config.js';
export type { DiscordAdapterConfig } from './config.js';

/** For every message the client sends: never @everyone/@here, roles or users, except the asker through the reply. */
const SAFE_MENTIONS: MessageMentionOptions = { parse: [], repliedUser: true };

/** How long a message id is remembered: far longer than a gateway resume replays. */
const MESSAGE_MEMORY_MS = 60 * 60 * 1000;

/** Said in the channel when a reply could not be sent after every retry. */
export const UNSENT_NOTICE = 'Sorry, I could not send my reply (Discord did not accept it). Please ask again.';

const INTENTS = [
  GatewayIntentBits.Guilds, // guild, channel and thread cache; slash commands in guilds
  GatewayIntentBits.GuildMessages, // messages in guild channels and threads
  GatewayIntentBits.MessageContent, // text of thread follow-ups that do not mention the bot (privileged)
  GatewayIntentBits.DirectMessages,
];

interface ThreadInfo {
  id: string;
  parentId: string | null;
}

export class DiscordAdapter implements Adapter<Partial<DiscordAdapterConfig>> {
  readonly name = 'discord';
  readonly configSchema = discordConfigSchema;
  private bot?: BotHost;
  private config?: DiscordAdapterConfig;
  private logger?: Logger;
  private client?: Client;
  private typing?: TypingIndicators;
  /** Threads where the bot was mentioned once: it keeps answering there without a mention. */
  private readonly joinedThreads = new Set<string>();
  private readonly inflight = new InFlight();

  /** The connected discord.js client (for bots that need more of the Discord API). */
  get discord(): Client {
    if (!this.client) throw new Error('The Discord adapter is not started');
    return this.client;
  }

  async start(bot: BotHost, rawConfig: Partial<DiscordAdapterConfig>): Promise<void> {
    const config = resolveDiscordConfig(rawConfig);
    const logger = bot.logger.child({ adapter: this.name });
    const client = new Client({
      intents: INTENTS,
      partials: [Partials.Channel], // DM channels are not cached before their first message
      rest: { api: config.api },
      allowedMentions: SAFE_MENTIONS,
      failIfNotExists: false,
      // Under ShardingManager, discord.js reads the shard ids from the environment instead.
      ...(config.shards ? { shards: config.shards, shardCount: config.shardCount } : {}),
    });
    this.bot = bot;
    this.config = config;
    this.logger = logger;
    this.client = client;
    this.typing = new TypingIndicators(config.typingIntervalMs, (error, channel) => logger.warn({ err: error, channel }, 'typing indicator failed'));

    client.on(Events.MessageCreate, (message) => this.track(this.onMessage(message), 'message'));
    client.on(Events.InteractionCreate, (interaction) => this.onInteraction(interaction));
    client.on(Events.Error, (error) => logger.error({ err: error }, 'discord.js error'));
    client.on(Events.ShardDisconnect, (event, shard) => logger.warn({ shard, code: event.code }, 'gateway disconnected'));
    client.on(Events.ShardReconnecting, (shard) => logger.info({ shard }, 'gateway reconnecting'));
    client.on(Events.ShardResume, (shard, replayed) => logger.info({ shard, replayed }, 'gateway session resumed'));
    client.rest.on('rateLimited', (info) => logger.warn({ route: info.route, retryAfter: info.retryAfter, global: info.global }, 'rate limited; waiting'));

    const ready = once(client, Events.ClientReady);
    try {
      await client.login(config.token);
      await ready;
    } catch (error) {
      await client.destroy();
      this.client = undefined;
      throw error;
    }
    logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size, shards: [...client.ws.shards.keys()] }, 'connected to Discord');
    // One process registers: with several shard processes, the one running shard 0.
    if (config.registerCommands && client.ws.shards.has(0)) await this.registerCommands();
  }

  /** Stops taking messages, lets replies already underway go out, then disconnects. */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    client.removeAllListeners(Events.MessageCreate).removeAllListeners(Events.InteractionCreate);
    await this.inflight.drain();
    this.typing?.clear();
    await client.destroy();
    this.client = undefined;
  }

  private get ctx(): { bot: BotHost; config: DiscordAdapterConfig; logger: Logger; client: Client<true> } {
    // Logged in once `user` is set; it stays set across gateway reconnects.
    if (!this.bot || !this.config || !this.logger || !this.client?.user) throw new Error('The Discord adapter is not started');
    return { bot: this.bot, config: this.config, logger: this.logger, client: this.client as Client<true> };
  }

  private track(work: Promise<void>, what: string): void {
    this.inflight.run(work, (error) => this.logger?.error({ err: error }, `${what} could not be answered`));
  }

  private async registerCommands(): Promise<void> {
    const { bot, config, client, logger } = this.ctx;
    const body = slashCommands(bot.commands.values());
    if (config.commandGuilds.length === 0) await client.application.commands.set(body);
    for (const guild of config.commandGuilds) await client.application.commands.set(body, guild);
    logger.info({ commands: body.map((c) => c.name), guilds: config.commandGuilds }, 'slash commands registered');
  }

  /** True the first time a message id is offered: claimed in the bot's shared store (Redis with several workers). */
  private async firstDelivery(messageId: string): Promise<boolean> {
    const { bot, logger } = this.ctx;
    try {
      return await bot.claimOnce(`discord:message:${messageId}`, MESSAGE_MEMORY_MS);
    } catch (error) {
      logger.warn({ err: error, messageId }, 'could not record the Discord message id; answering it');
      return true;
    }
  }

  private async onMessage(message: Message): Promise<void> {
    const { bot, client } = this.ctx;
    const address = this.messageAddress(message);
    if (!address || !message.channel.isSendable()) return;
    // Two processes on one shard (a redeploy's overlap) both see the message: one answers it.
    if (!(await this.firstDelivery(message.id))) return;
    const channel = message.channel;
    const incoming: IncomingMessage = {
      ...address,
      text: message.content.replace(new RegExp(`<@!?${client.user.id}>`, 'g'), ' '),
      id: message.id,
      user: {
        id: message.author.id,
        name: message.member?.displayName ?? message.author.displayName,
        isAdmin: this.isAdmin(message.author.id, message.member ? [...message.member.roles.cache.keys()] : [], message.member?.permissions ?? null, message.guild),
      },
    };
    // Typing from the moment the bot accepts the message: while it waits behind other turns too.
    const typing = this.typing!.forMessage(channel);
    const { config, logger } = this.ctx;
    // A one-candidate reply is posted as it is written (a reply to the message) and edited as it grows.
    const stream = config.stream
      ? new ThrottledWriter<Message>(
          {
            post: (text) => sendWithRetries((nonce) => message.reply({ content: preview(text), nonce, enforceNonce: true })),
            edit: async (sent, text) => void (await sent.edit({ content: preview(text) })),
          },
          config.streamEditIntervalMs,
          (error) => logger.warn({ err: error }, 'could not show the reply as it was written; it is sent whole'),
        )
      : undefined;
    try {
      await bot.handle(
        incoming,
        async (reply) => {
          const [first, ...rest] = replyPieces(reply);
          if (first === undefined) return;
          // The buttons go under the reply's last piece.
          const buttons = (last: boolean) => (last && reply.rateable && reply.turnId && config.feedback ? [feedbackButtons(reply.turnId)] : []);
          try {
            const streamed = await stream?.close();
            if (streamed) {
              await streamed.edit({ content: first, components: buttons(rest.length === 0) });
              stream!.wrote();
            } else {
              await sendWithRetries<unknown>((nonce) => message.reply({ content: first, nonce, enforceNonce: true, components: buttons(rest.length === 0) }));
            }
            for (const [index, piece] of rest.entries()) {
              await sendWithRetries<unknown>((nonce) => channel.send({ content: piece, nonce, enforceNonce: true, components: buttons(index === rest.length - 1) }));
            }
          } catch (error) {
            // Tell the person (if Discord takes this one) rather than leave them waiting; the cause is logged by track().
            await channel.send({ content: UNSENT_NOTICE, reply: { messageReference: message.id, failIfNotExists: false } }).catch(() => undefined);
            throw error;
          }
        },
        { stream, onAccepted: typing.onAccepted },
      );
    } finally {
      typing.release();
    }
  }

  private onInteraction(interaction: Interaction): void {
    if (interaction.isChatInputCommand()) this.track(this.onCommand(interaction), 'slash command');
    else if (interaction.isButton()) {
      const target = parseFeedbackButton(interaction.customId);
      if (target) this.track(this.onFeedbackButton(interaction, target), 'feedback button');
    } else if (interaction.isModalSubmit()) {
      const target = parseReasonForm(interaction.customId);
      if (target) this.track(this.onReasonForm(interaction, target), 'feedback form');
    }
  }

  /** 👍 is recorded and thanked for (only the clicker sees it); 👎 is recorded while a form asks why. */
  private async onFeedbackButton(interaction: ButtonInteraction, target: FeedbackTarget): Promise<void> {
    const { bot, logger } = this.ctx;
    const address = this.interactionAddress(interaction);
    if (!address) {
      await interaction.reply({ content: 'I am not set up to answer in this channel.', flags: MessageFlags.Ephemeral });
      return;
    }
    const request = { ...target, user: { id: interaction.user.id }, address };
    if (target.rating === 'down') {
      // Discord needs an answer within 3 s: the form opens at once and the rating is recorded meanwhile (the form's answer records it again, with the reason).
      const [, outcome] = await Promise.all([interaction.showModal(reasonForm(target)), bot.rate(request)]);
      if (!outcome.ok) logger.info({ turn: target.turnId }, `feedback not recorded: ${outcome.message}`);
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    await interaction.editReply({ content: (await bot.rate(request)).message });
  }

  private async onReasonForm(interaction: ModalSubmitInteraction, target: FeedbackTarget): Promise<void> {
    const { bot } = this.ctx;
    const address = this.interactionAddress(interaction);
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    if (!address) {
      await interaction.editReply({ content: 'I am not set up to answer in this channel.' });
      return;
    }
    const reason = interaction.fields.getTextInputValue(REASON_FIELD);
    const outcome = await bot.rate({ ...target, reason, user: { id: interaction.user.id }, address });
    await interaction.editReply({ content: outcome.message });
  }

  private interactionAddress(interaction: ButtonInteraction | ModalSubmitInteraction | ChatInputCommandInteraction): ConversationAddress | undefined {
    const channel = interaction.channel;
    return this.address(interaction.guildId, interaction.channelId ?? '', channel?.isThread() ? channel : undefined);
  }

  private async onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const { bot } = this.ctx;
    const address = this.interactionAddress(interaction);
    if (!address) {
      await interaction.reply({ content: 'I am not set up to answer in this channel.', flags: MessageFlags.Ephemeral });
      return;
    }
    // The turn may wait behind a reply being generated in this conversation: answer within 3 s.
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const argument = interaction.options.data.find((option) => typeof option.value === 'string')?.value as string | undefined;
    const roles = interaction.member ? (Array.isArray(interaction.member.roles) ? interaction.member.roles : [...interaction.member.roles.cache.keys()]) : [];
    const incoming: IncomingMessage = {
      ...address,
      text: commandText(interaction.commandName, argument),
      id: interaction.id,
      user: {
        id: interaction.user.id,
        name: interaction.user.displayName,
        isAdmin: this.isAdmin(interaction.user.id, roles, interaction.memberPermissions, interaction.guild),
      },
    };
    await bot.handle(incoming, async (reply) => {
      const [first, ...rest] = replyPieces(reply);
      await interaction.editReply({ content: first ?? '…' });
      for (const piece of rest) await interaction.followUp({ content: piece, flags: MessageFlags.Ephemeral });
    });
  }

  /**
   * Which conversation a message belongs to, or undefined when the bot should stay silent:
   * bots (itself included), DMs when off, lists, and guild messages that neither mention it nor
   * sit in a thread it owns or was mentioned in.
   */
  private messageAddress(message: Message): ConversationAddress | undefined {
    const { client } = this.ctx;
    if (message.author.bot || message.system || message.webhookId) return undefined;
    const channel = message.channel;
    const thread = channel.isThread() ? channel : undefined;
    const address = this.address(message.guildId, message.channelId, thread);
    if (!address || !message.inGuild()) return address;
    const mentioned = message.mentions.users.has(client.user.id);
    if (!thread) return mentioned ? address : undefined;
    if (mentioned) this.joinedThreads.add(thread.id);
    return thread.ownerId === client.user.id || this.joinedThreads.has(thread.id) ? address : undefined;
  }

  /** The conversation for a channel (a thread is its own), if DMs, guild and channel lists allow it. */
  private address(guildId: string | null, channelId: string, thread: ThreadInfo | undefined): ConversationAddress | undefined {
    const { config } = this.ctx;
    if (guildId === null) return config.dms ? { platform: this.name, channel: channelId } : undefined;
    if (!passesFilter(config.guilds, [guildId])) return undefined;
    if (!thread) return passesFilter(config.channels, [channelId]) ? { platform: this.name, channel: channelId } : undefined;
    if (!passesFilter(config.channels, [thread.id, thread.parentId])) return undefined;
    return { platform: this.name, channel: thread.parentId ?? thread.id, thread: thread.id };
  }

  /** Admin by configured user id, by the configured permission, or by a configured role (id or name). */
  private isAdmin(
    userId: string,
    roleIds: readonly string[],
    permissions: Readonly<PermissionsBitField> | null,
    guild: Guild | null,
  ): boolean {
    const { config } = this.ctx;
    if (permissions?.has(PermissionFlagsBits[config.adminPermission])) return true;
    return isConfiguredAdmin(config, { id: userId, roles: roleIds.map((id) => ({ id, name: guild?.roles.cache.get(id)?.name })) });
  }
}

/** A reply still being written: its text so far and a mark that more is coming, within Discord's limit. */
function preview(text: string): string {
  const more = ' …';
  return text.length + more.length <= DISCORD_MESSAGE_LIMIT ? `${text}${more}` : `${text.slice(0, DISCORD_MESSAGE_LIMIT - 1)}…`;
}

export default function createDiscordAdapter(): DiscordAdapter {
  return new DiscordAdapter();
}
