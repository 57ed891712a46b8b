/**
 * The bot: loads the engine, plugins, presets and history store named by a config, runs each
 * incoming message through commands or the pipeline (one turn at a time per conversation), and
 * starts the configured adapters. It is the `BotHost` plugins and adapters work with.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Admission, Burst, mergeAdmission, MemoryAdmissionState, TurnDeadline, type AdmissionConfig, type AdmissionState, type Refusal } from './admission/index.js';
import { builtinCommands, parseCommand } from './commands.js';
import { FencedWriteError, LockWaitError, openRedisCoordination, type Coordination, type TurnLock } from './coordination/index.js';
import { collectPresets, ConfigError, presetDirs, presetRoutingProblems, validatePluginConfig } from './config/index.js';
import type { BotConfig, LoadedConfig } from './config/types.js';
import { loadEngine as openEngine } from './engine/index.js';
import { EngineServerClient, requireFeatures } from './engine/remote/index.js';
import type { DialogueEngine, EngineFeature, EngineOptions } from './engine/types.js';
import { EventBus } from './events.js';
import { FeedbackRecorder, openFeedbackStore, type FeedbackStore } from './feedback/index.js';
import { conversationKey, historyScheme, openHistoryStore, trimHistory, type HistoryStore } from './history/index.js';
import { MemoryHistoryStore } from './history/memory-store.js';
import { pointerJoin } from './config/errors.js';
import { PluginError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { loadAdapter, loadPlugin } from './modules.js';
import { runPipeline } from './pipeline.js';
import { declaredScores, unknownWeights } from './selection.js';
import { KeyedSerialQueue, Semaphore } from './queue.js';
import { cleanText } from './text.js';
import type {
  Adapter,
  BotEvents,
  BotHost,
  Command,
  Conversation,
  ConversationAddress,
  Deliver,
  HandleOptions,
  HistoryTurn,
  IncomingMessage,
  Plugin,
  Preset,
  PresetRegistry,
  RateOutcome,
  RateRequest,
  Reply,
  Turn,
} from './types.js';

export interface BotOptions {
  logger?: Logger;
  /** Plugins given as objects (programmatic use, tests), run after those named in config. */
  plugins?: Plugin[];
  /** Adapters given as objects, started with `start()` beside those named in config. */
  adapters?: { adapter: Adapter; config?: unknown }[];
  /** Only start these adapters from config (e.g. the CLI's `chat` starts just the terminal). */
  onlyAdapters?: string[];
  /** Check everything `create` checks without opening the history store (`banter config check`). */
  checkOnly?: boolean;
  /** Model loading progress (the terminal shows it as a progress line). */
  onProgress?: (message: string, fraction?: number) => void;
  /** A history store given as an object (embedding, tests) instead of the one `history.store` names. */
  history?: HistoryStore;
  /** A feedback store given as an object instead of the one `feedback.store` names (used when feedback is enabled). */
  feedback?: FeedbackStore;
  /** Pauses between attempts to save a turn whose first save failed; default 200, 1,000 and 3,000 ms. */
  saveRetryDelaysMs?: number[];
  /** Where admission counts waiting turns and rate limits; default: this process's memory. Share one (Redis) across workers. */
  admissionState?: AdmissionState;
  /** Coordination given as an object instead of the Redis that `coordination.url` (or a Redis `history.store`) names. */
  coordination?: Coordination;
}


const APOLOGY = 'Sorry, something went wrong on my side while answering that. Please try again.';
/** What a turn returns once its deadline has passed: the caller has apologised already and ignores it. */
const LATE: Reply = { text: '', kind: 'deadline', citations: [] };

/** A message on its way to a turn, with how to answer it. */
interface Pending {
  text: string;
  message: IncomingMessage;
  deliver?: Deliver;
  options: HandleOptions;
  at: number;
}
const SAVE_RETRY_DELAYS_MS = [200, 1_000, 3_000];
/** Runs of one turn when its lock is lost to another worker before its history is written. */
const LOST_LOCK_ATTEMPTS = 3;

export class Bot implements BotHost {
  readonly events: EventBus<BotEvents>;
  readonly commands = new Map<string, Command>();
  readonly presets: PresetRegistry;
  private readonly queue = new KeyedSerialQueue();
  /** One user's messages in one conversation pass admission one at a time, so each sees the burst the one before opened. */
  private readonly intake = new KeyedSerialQueue();
  /** Open bursts of the `debounce` policy, by conversation and user. */
  private readonly bursts = new Map<string, Burst<Pending>>();
  private readonly admission: Admission;
  private readonly engines = new Map<string, Promise<DialogueEngine>>();
  private readonly running: Adapter[] = [];
  private readonly feedback: FeedbackRecorder;
  /** The conversation lock of the turn running in this async context (with coordination). */
  private readonly turnLocks = new AsyncLocalStorage<TurnLock>();
  private stopped = false;
  /** The plugins' declared default weights (families like `safety.*` are declarations, not weights). */
  private readonly defaultWeights: Record<string, number>;

  private constructor(
    readonly loaded: LoadedConfig,
    readonly logger: Logger,
    readonly engine: DialogueEngine,
    private readonly engineSlots: Semaphore,
    private readonly history: HistoryStore,
    feedbackStore: FeedbackStore | undefined,
    readonly plugins: readonly Plugin[],
    presets: Preset[],
    private readonly options: BotOptions,
    private readonly remote?: EngineServerClient,
    private readonly coordination?: Coordination,
  ) {
    this.events = new EventBus<BotEvents>((event, error) => logger.error({ err: error, event }, 'event listener failed'));
    this.feedback = new FeedbackRecorder(feedbackStore, loaded.config.feedback, engine.info, logger);
    this.presets = createPresetRegistry(presets, loaded.config, configFile(loaded));
    this.admission = new Admission(options.admissionState ?? coordination?.admission ?? new MemoryAdmissionState(), loaded.config.name);
    for (const command of builtinCommands()) this.commands.set(command.name, command);
    this.defaultWeights = Object.fromEntries(Object.entries(declaredScores(plugins)).filter(([name]) => !name.endsWith('*')));
    this.events.on('plugin:error', ({ turn, error }) =>
      logger.warn({ err: error.cause, plugin: error.plugin, stage: error.stage, turn: turn.id }, 'optional scorer failed; the turn goes on without its scores'),
    );
  }

  /**
   * Loads everything the config names, and fails before any message is taken with a ConfigError
   * listing every problem found: presets, the history store, the model (its session is created),
   * maxNewTokens against the model's context window (config and presets), plugins (name, config,
   * setup) and adapters (name, config). `checkOnly` (for `banter config check`) opens no store.
   */
  static async create(loaded: LoadedConfig, options: BotOptions = {}): Promise<Bot> {
    const { config, dir } = loaded;
    const file = configFile(loaded);
    const logger = options.logger ?? createLogger(config.log.level, { name: config.name });
    for (const warning of loaded.warnings ?? []) logger.warn(warning);
    const problems: ConfigError[] = [];
    const note = (path: string) => (error: unknown) => void problems.push(...asConfigErrors(error, file, path));

    await preflightAdapters(loaded, options.onlyAdapters).catch(note('/adapters'));
    const { presets, problems: presetProblems } = await collectPresets(presetDirs(loaded));
    problems.push(...presetProblems, ...presetRoutingProblems(loaded, presets));
    const history = options.history ?? (await openStore(loaded, options.checkOnly).catch((error: unknown) => void note('/history/store')(error)));
    const feedback = await openFeedback(loaded, options).catch((error: unknown) => void note('/feedback/store')(error));
    const coordination = options.coordination ?? (await openCoordination(loaded, logger, options.checkOnly).catch((error: unknown) => void note('/coordination/url')(error)));
    const slots = new Semaphore(config.engine.maxConcurrentGenerations);
    const enginePath = resolve(dir, config.engine.model);
    // engine.url: the models run on an engine server; what it lacks is found out (and logged) here.
    const remote = config.engine.url
      ? await EngineServerClient.connect(remoteOptionsFrom(config, logger)).catch((error: unknown) => {
          problems.push(new ConfigError({ file, path: '/engine/url' }, messageOf(error)));
          return undefined;
        })
      : undefined;
    const opened =
      config.engine.url && !remote
        ? undefined
        : await openModel(remote, enginePath, { ...engineOptionsFrom(config), onProgress: options.onProgress }, logger).catch((error: unknown) => {
            problems.push(new ConfigError({ file, path: '/engine/model' }, `cannot load the model ${enginePath}: ${messageOf(error)}`));
            return undefined;
          });
    const engine = opened && limitEngine(opened, slots);
    if (engine) {
      problems.push(...windowProblems(engine, config.decoding.maxNewTokens, { file, path: '/decoding/maxNewTokens' }, presets));
      try {
        requireFeatures(engine, decodingNeeds(config, presets), 'decoding.strategy beam (in the config or a preset)');
      } catch (error) {
        note('/decoding/strategy')(error);
      }
    }

    // Each plugin keeps the config entry it was loaded from: its section is found by that key (a
    // path like ./brevity.js), never by the name the plugin gives itself.
    const entries: { plugin: Plugin; key?: string }[] = [];
    for (const [spec, pluginConfig] of Object.entries(config.plugins)) {
      if (pluginConfig === false) continue;
      await loadPlugin(spec, dir).then((plugin) => entries.push({ plugin, key: spec }), note(pointerJoin('/plugins', spec)));
    }
    for (const plugin of options.plugins ?? []) entries.push({ plugin });
    const plugins = entries.map((entry) => entry.plugin);

    let bot: Bot | undefined;
    if (engine && history && problems.length === 0) {
      try {
        bot = new Bot(loaded, logger, engine, slots, history, feedback, plugins, presets, options, remote, coordination);
        bot.engines.set(enginePath, Promise.resolve(engine));
      } catch (error) {
        note('/presets')(error);
      }
    }
    const weights = weightProblems(config.selection.weights, plugins, { file, path: '/selection/weights' }, presets);
    problems.push(...weights.errors);
    for (const warning of weights.warnings) logger.warn(warning);
    for (const { plugin, key } of entries) {
      const path = pointerJoin('/plugins', key ?? plugin.name);
      const raw = config.plugins[key ?? plugin.name] ?? {};
      try {
        const pluginConfig = plugin.configSchema
          ? validatePluginConfig(plugin.name, plugin.configSchema, raw === true || raw === null ? {} : raw, { file, path, origins: loaded.origins })
          : raw;
        // A plugin can only be set up on a bot; without one (the model failed), its config is still checked.
        if (bot) await plugin.setup?.(bot, pluginConfig);
      } catch (error) {
        note(path)(error);
      }
    }
    if (problems.length > 0) {
      await (bot
        ? bot.stop()
        : Promise.all([opened?.dispose(), options.history ? undefined : history?.close(), options.feedback ? undefined : feedback?.close(), options.coordination ? undefined : coordination?.close()]));
      throw ConfigError.combine(problems);
    }
    return bot!;
  }

  get name(): string {
    return this.loaded.config.name;
  }

  get config(): BotConfig {
    return this.loaded.config;
  }

  resolvePath(path: string): string {
    return isAbsolute(path) ? path : resolve(this.loaded.dir, path);
  }

  loadEngine(modelPath: string, options: Partial<EngineOptions> = {}): Promise<DialogueEngine> {
    const path = this.resolvePath(modelPath);
    let engine = this.engines.get(path);
    if (!engine) {
      engine = openModel(this.remote, path, { ...engineOptionsFrom(this.config), ...options }, this.logger, false).then((e) => limitEngine(e, this.engineSlots));
      // A failed load is not cached: fixing the folder and retrying must work.
      engine.catch(() => this.engines.delete(path));
      this.engines.set(path, engine);
    }
    return engine.then((loaded) => {
      requireFeatures(loaded, options.requires, `the model ${path}`);
      return loaded;
    });
  }

  async conversation(address: ConversationAddress): Promise<Conversation> {
    const key = conversationKey(address);
    return (await this.history.load(key)) ?? { key, preset: this.presets.route(address), history: [], state: {} };
  }

  async saveConversation(conversation: Conversation): Promise<void> {
    conversation.history = trimHistory(conversation.history, {
      maxTurns: this.config.history.maxTurns,
      maxTokens: this.config.history.maxTokens,
      countTokens: (text) => this.engine.tokenizer.encode(text).length,
    });
    await this.writeHistory(conversation);
  }

  /** Saves; inside a turn under a conversation lock the write is fenced, so a worker that lost the lock cannot make it. */
  private async writeHistory(conversation: Conversation): Promise<void> {
    const lock = this.turnLocks.getStore();
    if (!this.coordination || lock?.key !== conversation.key) return this.history.save(conversation);
    if (this.history.saveFenced && this.coordination.url === this.config.history.store) {
      if (!(await this.history.saveFenced(conversation, this.coordination.fence(lock)))) throw new FencedWriteError(lock.key, lock.token);
      return;
    }
    // History elsewhere than the coordination server: the fence is checked just before the write.
    if (!(await lock.current())) throw new FencedWriteError(lock.key, lock.token);
    await this.history.save(conversation);
  }

  claimOnce(id: string, ttlMs: number): Promise<boolean> {
    return this.coordination ? this.coordination.claim(id, ttlMs) : this.history.claim(id, ttlMs);
  }

  /**
   * Answers one message. Turns of one conversation run one after another; `deliver` (the
   * adapter's send) runs inside the turn. The turn is saved before it is delivered, so a reply a
   * user saw is never missing from history after a crash; if the delivery fails the turn is taken
   * back out. A failed save never touches the delivered reply: it is retried, then logged. With
   * `options.stream`, a one-candidate reply is shown while it is written (see core/stream.ts);
   * `deliver` still gets the finished reply, which replaces what was shown. Admission comes first
   * (core/admission): a refusal, a message merged into an open `debounce` burst (kind `merged`), or
   * a turn that must deliver within `admission.turnDeadlineMs` (else the user gets the apology, kind
   * `deadline`, and nothing of the turn is sent or stored).
   */
  async handle(message: IncomingMessage, deliver?: Deliver, options: HandleOptions = {}): Promise<Reply> {
    if (this.stopped) throw new Error('The bot is stopped');
    const key = conversationKey(message);
    const burstKey = `${key}\u0000${message.user.id}`;
    // The intake hands back the turn inside an object, so it does not wait for the turn itself.
    const { reply } = await this.intake.run(burstKey, () => this.admit(message, deliver, options, key, burstKey));
    return reply;
  }

  /**
   * Admission of one message (see core/admission): a refusal, a place in an open burst (`merged`),
   * or a turn queued in its conversation, raced against its deadline.
   */
  private async admit(message: IncomingMessage, deliver: Deliver | undefined, options: HandleOptions, key: string, burstKey: string): Promise<{ reply: Promise<Reply> }> {
    const settings = await this.admissionFor(message);
    const pending: Pending = { text: message.text, message, deliver, options, at: Date.now() };
    const debounce = settings.policy === 'debounce' && !parseCommand(cleanText(message.text));
    const open = this.bursts.get(burstKey);
    if (debounce && open?.offer(pending)) return { reply: Promise.resolve({ text: '', kind: 'merged', citations: [] }) };
    // A command is never merged, and the burst before it must not wait for more messages behind it.
    open?.seal();
    const admitted = await this.admission.admit({ conversation: key, user: message.user.id, channel: message.channel }, settings);
    if (!admitted.admitted) return { reply: this.refuse(message, admitted.refusal, deliver) };
    options.onAccepted?.();
    const burst = debounce ? new Burst(pending, { ...settings.debounce, maxLength: this.config.maxMessageLength }) : undefined;
    if (burst) this.bursts.set(burstKey, burst);
    const deadline = new TurnDeadline(settings.turnDeadlineMs);
    const turn = this.queue
      .run(key, async () => {
        const sent = burst ? await burst.close() : [pending];
        if (this.bursts.get(burstKey) === burst) this.bursts.delete(burstKey);
        return this.coordination ? this.answerUnderLock(this.coordination, key, sent, deadline) : this.answer(sent, deadline);
      })
      .finally(() => admitted.release());
    return { reply: this.awaitTurn(turn, deadline, () => this.missDeadline(pending, settings)) };
  }

  /** The bot's admission settings, with those of the message's preset (its conversation's choice, else its route) on top. */
  private async admissionFor(message: IncomingMessage): Promise<AdmissionConfig> {
    const base = this.config.admission;
    // Without any preset override, no store read is needed to know which preset applies.
    if (!this.presets.list().some((preset) => preset.admission)) return base;
    const stored = await this.history.load(conversationKey(message)).then(
      (conversation) => conversation?.preset,
      () => undefined,
    );
    return mergeAdmission(base, this.presets.get(stored ?? this.presets.route(message))?.admission);
  }

  /** The turn's reply, or the deadline's apology when the deadline passes first (the turn then ends on its own, unseen). */
  private async awaitTurn(turn: Promise<Reply>, deadline: TurnDeadline, apologise: () => Promise<Reply>): Promise<Reply> {
    const settled = turn.then(
      (reply) => ({ reply }),
      (error: unknown) => ({ error }),
    );
    const outcome = await Promise.race([settled, deadline.passed]);
    if (deadline.hasPassed) return apologise();
    if (outcome && 'error' in outcome) throw outcome.error;
    return outcome!.reply;
  }

  private async missDeadline(pending: Pending, settings: AdmissionConfig): Promise<Reply> {
    const { message, deliver } = pending;
    const reply: Reply = { text: settings.deadlineText, kind: 'deadline', citations: [] };
    this.logger.warn({ conversation: conversationKey(message), user: message.user.id, ms: settings.turnDeadlineMs }, 'a turn passed its deadline: apologised and aborted it');
    this.events.emit('admission:deadline', { message, reply, ms: settings.turnDeadlineMs });
    await deliver?.(reply, {});
    return reply;
  }

  /**
   * The turn under the conversation's lock, so that no other worker runs one of its turns at the
   * same time. A turn whose lock was lost before its history was written (this worker stalled past
   * the lease) delivered nothing: it runs again under a new lock, on the history as it is now.
   */
  private async answerUnderLock(coordination: Coordination, key: string, sent: Pending[], deadline: TurnDeadline): Promise<Reply> {
    const { deliver } = sent[0];
    const sayOnce = async (reply: Reply): Promise<Reply> => {
      if (!deadline.settle()) return LATE;
      await deliver?.(reply, {});
      return reply;
    };
    for (let attempt = 1; ; attempt++) {
      let lock: TurnLock;
      try {
        lock = await coordination.lock(key);
      } catch (error) {
        this.logger.warn({ err: error, conversation: key }, 'could not take the conversation lock');
        return sayOnce(error instanceof LockWaitError ? { text: this.config.admission.busyText, kind: 'busy', citations: [] } : { text: APOLOGY, kind: 'error', citations: [] });
      }
      try {
        return await this.turnLocks.run(lock, () => this.answer(sent, deadline));
      } catch (error) {
        if (!(error instanceof FencedWriteError)) throw error;
        this.logger.warn({ conversation: key, token: lock.token, attempt }, 'the conversation lock was lost before the turn was saved');
        if (attempt >= LOST_LOCK_ATTEMPTS) return sayOnce({ text: APOLOGY, kind: 'error', citations: [] });
      } finally {
        await lock.release().catch((error: unknown) => this.logger.warn({ err: error, conversation: key }, 'could not release the conversation lock; it expires with its lease'));
      }
    }
  }

  /** A message admission turned away: answered with a notice (or nothing) and not stored, see core/admission. */
  private async refuse(message: IncomingMessage, refusal: Refusal, deliver: Deliver | undefined): Promise<Reply> {
    const reply: Reply = refusal.text === undefined ? { text: '', kind: 'dropped', citations: [] } : { text: refusal.text, kind: refusal.reason === 'rate' ? 'rate-limited' : 'busy', citations: [] };
    this.logger.info({ conversation: conversationKey(message), user: message.user.id, reason: refusal.reason, kind: reply.kind }, 'message refused by admission');
    this.events.emit('admission:refused', { message, reason: refusal.reason, reply });
    if (reply.kind !== 'dropped') await deliver?.(reply, {});
    return reply;
  }

  /** Conversations with turns waiting or running, users' messages in admission, and open debounce bursts: all back to 0 when the bot is idle. */
  get backlog(): { conversations: number; admitting: number; bursts: number } {
    return { conversations: this.queue.activeKeys, admitting: this.intake.activeKeys, bursts: this.bursts.size };
  }

  rate(request: RateRequest): Promise<RateOutcome> {
    return this.feedback.rate(request);
  }

  /**
   * Runs one turn for the messages `sent` (one, or a debounced burst: they are answered together
   * through the first one's `deliver`, and stored as the separate user turns they were). Nothing
   * is delivered or stored once `deadline` has passed.
   */
  private async answer(sent: Pending[], deadline: TurnDeadline): Promise<Reply> {
    if (deadline.hasPassed) return LATE;
    const { deliver, options } = sent[0];
    const now = Date.now();
    const said: HistoryTurn[] =
      sent.length === 1
        ? [{ role: 'user', text: cleanText(sent[0].text), at: now }]
        : sent.map((pending) => ({ role: 'user' as const, text: cleanText(pending.text), at: pending.at })).filter((turn) => turn.text);
    const message = { ...sent[0].message, text: said.map((turn) => turn.text).join('\n') };
    let conversation: Conversation;
    try {
      conversation = await this.conversation(message);
    } catch (error) {
      this.logger.error({ err: error, conversation: conversationKey(message) }, 'could not read the conversation from the history store');
      const apology: Reply = { text: APOLOGY, kind: 'error', citations: [] };
      if (!deadline.settle()) return LATE;
      await deliver?.(apology, { error });
      return apology;
    }
    const early = await this.screen(message, conversation);
    if (early) {
      if (!deadline.settle()) return LATE;
      await deliver?.(early, {});
      return early;
    }
    const turn = this.newTurn(message, conversation, said);
    const started = performance.now();
    const weights = { ...this.defaultWeights, ...this.config.selection.weights, ...turn.preset.selection.weights };
    let streamed = false;
    let failure: unknown;
    this.events.emit('turn:start', { turn });
    try {
      ({ streamed } = await runPipeline(turn, {
        plugins: this.plugins,
        engine: this.engine,
        events: this.events,
        weights,
        fallback: turn.preset.selection.fallback ?? this.config.selection.fallback,
        stream: options.stream,
        logger: this.logger,
        signal: deadline.signal,
      }));
    } catch (error) {
      if (deadline.hasPassed) {
        this.logger.info({ conversation: conversation.key, turn: turn.id }, 'the turn stopped at its deadline');
        return LATE;
      }
      const where = error instanceof PluginError ? { plugin: error.plugin, stage: error.stage } : {};
      this.logger.error({ err: error, ...where, conversation: conversation.key, turn: turn.id }, 'turn failed');
      this.events.emit('turn:error', { turn, error });
      failure = error;
      turn.reply = { text: APOLOGY, kind: 'error', citations: [] };
    }
    // Finished after its deadline: the user has the apology; this result is neither sent nor stored.
    if (!deadline.settle()) return LATE;
    const reply = turn.reply!;
    reply.turnId = turn.id;
    this.events.emit('reply', { turn, reply });
    // The adapter gets the turn with its reply (an inspector shows its trace), with the time so far.
    const deliverTurn = deliver && ((finished: Reply) => deliver(finished, { turn, ms: performance.now() - started, ...(failure === undefined ? {} : { error: failure }) }));
    if (reply.kind === 'error') await deliverTurn?.(reply);
    else {
      // Kept for feedback before delivery, like the history: a click right after the reply finds it.
      const keepForFeedback = async () => {
        if (this.feedback.rateable(turn) && (await this.feedback.record(turn, weights, streamed))) reply.rateable = true;
      };
      await this.deliverAndRecord(conversation, said, reply, deliverTurn, keepForFeedback);
    }
    this.events.emit('turn:end', { turn, ms: performance.now() - started });
    return reply;
  }

  /** Saves the turn (and `beforeDelivery`'s work), delivers the reply, then takes the turn back out if the user did not get it. */
  private async deliverAndRecord(conversation: Conversation, said: HistoryTurn[], reply: Reply, deliver?: (reply: Reply) => Promise<void>, beforeDelivery?: () => Promise<void>): Promise<void> {
    const before = conversation.history;
    conversation.history = [...before, ...said, { role: 'bot', text: reply.text, at: Date.now() }];
    const [saved] = await Promise.all([
      this.saveConversation(conversation).then(
        () => true,
        (error: unknown) => {
          // Another worker owns the conversation now: this reply must not reach the user.
          if (error instanceof FencedWriteError) throw error;
          this.logger.warn({ err: error, conversation: conversation.key }, 'could not save the turn before delivering it; retrying after delivery');
          return false;
        },
      ),
      beforeDelivery?.(),
    ]);
    try {
      await deliver?.(reply);
    } catch (error) {
      if (saved) {
        conversation.history = before;
        await this.saveConversation(conversation).catch((cause: unknown) =>
          this.logger.error({ err: cause, conversation: conversation.key }, 'a reply that was not delivered stays in the history: removing it failed'),
        );
      }
      throw error;
    }
    if (!saved) await this.saveWithRetries(conversation);
  }

  /** The delivered reply stands whatever happens here: the save is retried, and a final failure is logged. */
  private async saveWithRetries(conversation: Conversation): Promise<void> {
    const delays = this.options.saveRetryDelaysMs ?? SAVE_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, delays[attempt - 1]));
      try {
        await this.saveConversation(conversation);
        if (attempt > 0) this.logger.info({ conversation: conversation.key, attempts: attempt + 1 }, 'saved the turn on a retry');
        return;
      } catch (error) {
        if (attempt >= delays.length) {
          this.logger.error({ err: error, conversation: conversation.key, attempts: attempt + 1 }, 'could not save a delivered turn: it is missing from the history');
          return;
        }
      }
    }
  }

  /** Replies that need no model: empty or oversized messages, and commands. */
  private async screen(message: IncomingMessage, conversation: Conversation): Promise<Reply | undefined> {
    const say = (text: string, kind: Reply['kind']): Reply => ({ text, kind, citations: [] });
    if (!message.text) return say('I got an empty message. Say something and I\'ll answer!', 'refusal');
    const limit = this.config.maxMessageLength;
    if (message.text.length > limit) {
      return say(`That message is too long for me (${message.text.length} characters; I read up to ${limit}). Could you shorten it?`, 'refusal');
    }
    const parsed = parseCommand(message.text);
    if (!parsed) return undefined;
    const command = this.commands.get(parsed.name);
    if (!command) return say(`Unknown command /${parsed.name}. Type /help for the list.`, 'command');
    if (command.admin && !message.user.isAdmin) return say(`Only admins can use /${command.name}.`, 'command');
    try {
      return say(await command.run({ bot: this, message, conversation, args: parsed.args }), 'command');
    } catch (error) {
      this.logger.error({ err: error, command: command.name }, 'command failed');
      return say(APOLOGY, 'error');
    }
  }

  private newTurn(message: IncomingMessage, conversation: Conversation, said: HistoryTurn[]): Turn {
    const preset = this.presets.get(conversation.preset) ?? this.presets.get(this.config.presets.default)!;
    return {
      id: randomUUID(),
      message,
      conversation,
      preset,
      decoding: { ...this.config.decoding, ...preset.decoding },
      prompt: {
        persona: [],
        knowledge: [],
        // The preset's greeting pre-conditions every prompt (oldest first, so truncated first).
        history: [...preset.greeting, ...conversation.history, ...said],
      },
      promptTokens: [],
      promptText: '',
      evidence: [],
      candidates: [],
      chosen: -1,
      trace: [],
      data: {},
    };
  }

  /** Starts the adapters named in config (and those given as options). */
  async start(): Promise<void> {
    for (const { adapter, config } of await loadAdapters(this.loaded, this.options.onlyAdapters)) await this.startAdapter(adapter, config);
    for (const { adapter, config: adapterConfig } of this.options.adapters ?? []) await this.startAdapter(adapter, adapterConfig ?? {});
  }

  private async startAdapter(adapter: Adapter, config: unknown): Promise<void> {
    await adapter.start(this, config);
    this.running.push(adapter);
    this.logger.info({ adapter: adapter.name }, 'adapter started');
  }

  get adapters(): readonly Adapter[] {
    return this.running;
  }

  /** Stops adapters, plugins, engines and the history store; safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const adapter of this.running.splice(0).reverse()) {
      await adapter.stop().catch((error: unknown) => this.logger.error({ err: error, adapter: adapter.name }, 'adapter stop failed'));
    }
    for (const plugin of this.plugins) await plugin.dispose?.();
    for (const engine of this.engines.values()) await (await engine.catch(() => undefined))?.dispose();
    await this.history.close();
    await this.feedback.close();
    if (!this.options.coordination) await this.coordination?.close();
  }
}

export function createBot(loaded: LoadedConfig, options?: BotOptions): Promise<Bot> {
  return Bot.create(loaded, options);
}

function configFile(loaded: LoadedConfig): string {
  return loaded.file ?? 'the default config';
}

/** A model folder's engine: on the engine server (`engine.url`) when it serves that model (always the bot's own), else in this process. */
async function openModel(remote: EngineServerClient | undefined, path: string, options: EngineOptions, logger: Logger, main = true): Promise<DialogueEngine> {
  const served = remote?.engineFor(path, main);
  if (served) return served;
  if (remote) logger.info({ model: path, server: remote.connection.url }, 'the engine server does not serve this model: it runs in this process');
  return openEngine(path, options);
}

function remoteOptionsFrom(config: BotConfig, logger: Logger) {
  const { url, apiKey, servedModel, timeoutMs, retryForMs } = config.engine;
  return { url: url!, apiKey, servedModel, timeoutMs, retryForMs, logger };
}

/** Beam search, when the config or a preset decodes with it (an engine server may lack it). */
function decodingNeeds(config: BotConfig, presets: Preset[]): EngineFeature[] {
  return [config.decoding, ...presets.map((preset) => preset.decoding)].some((decoding) => decoding?.strategy === 'beam') ? ['beam'] : [];
}

function engineOptionsFrom(config: BotConfig): EngineOptions {
  return {
    device: config.engine.device,
    fallback: config.engine.fallback,
    dtype: config.engine.dtype,
    thread: config.engine.thread,
    maxBatchRows: config.engine.maxBatchRows,
    prefillChunk: config.engine.prefillChunk,
    intraOpThreads: config.engine.intraOpThreads,
    interOpThreads: config.engine.interOpThreads,
  };
}

/** Wraps an engine so that its model work takes a slot of the bot's engine semaphore. */
function limitEngine(engine: DialogueEngine, slots: Semaphore): DialogueEngine {
  return {
    get info() {
      return engine.info;
    },
    get tokenizer() {
      return engine.tokenizer;
    },
    get format() {
      return engine.format;
    },
    get direction() {
      return engine.direction;
    },
    get missing() {
      return engine.missing;
    },
    encodeDialogue: (parts, reserve) => engine.encodeDialogue(parts, reserve),
    encodeTurns: (turns) => engine.encodeTurns(turns),
    encodeMessages: (messages, options) => engine.encodeMessages(messages, options),
    generate: (prompt, options, control) => slots.use(() => engine.generate(prompt, options, control)),
    // A scoring pass finishes a turn whose candidates are generated: it goes before turns not yet started.
    score: (pairs) => slots.use(() => engine.score(pairs), { urgent: true }),
    dispose: () => engine.dispose(),
  };
}

function createPresetRegistry(presets: Preset[], config: BotConfig, file: string): PresetRegistry {
  const byName = new Map(presets.map((p) => [p.name, p]));
  if (!byName.has(config.presets.default)) {
    if (config.presets.default !== 'default') {
      throw new ConfigError({ file, path: '/presets/default', expected: `one of the presets found (${[...byName.keys()].join(', ') || 'none'})`, got: JSON.stringify(config.presets.default) });
    }
    // No default preset file: a plain bot with no persona.
    byName.set('default', { name: 'default', persona: [], greeting: [], knowledge: [], decoding: {}, plugins: {}, selection: { weights: {} } });
  }
  for (const [route, name] of Object.entries(config.presets.routes)) {
    if (!byName.has(name)) throw new ConfigError({ file, path: `/presets/routes/${route}`, expected: `a preset name (${[...byName.keys()].join(', ')})`, got: JSON.stringify(name) });
  }
  // Longest route prefix first, so `discord:123:thread` beats `discord:123` beats `discord`.
  const routes = Object.entries(config.presets.routes).sort((a, b) => b[0].length - a[0].length);
  return {
    get: (name) => byName.get(name),
    list: () => [...byName.values()],
    route(address) {
      const key = conversationKey(address);
      const hit = routes.find(([prefix]) => key === prefix || key.startsWith(`${prefix}:`));
      return hit ? hit[1] : config.presets.default;
    },
  };
}

/** The adapters config enables, loaded and with their sections validated; throws every problem at once. */
async function loadAdapters(loaded: LoadedConfig, only?: string[]): Promise<{ adapter: Adapter; config: unknown }[]> {
  const file = configFile(loaded);
  const problems: ConfigError[] = [];
  const result: { adapter: Adapter; config: unknown }[] = [];
  for (const [spec, raw] of Object.entries(loaded.config.adapters)) {
    if (raw === false || (only && !only.includes(spec))) continue;
    const path = pointerJoin('/adapters', spec);
    try {
      const adapter = await loadAdapter(spec, loaded.dir);
      const config = adapter.configSchema
        ? validatePluginConfig(spec, adapter.configSchema, raw === true || raw === null ? {} : raw, { file, path, origins: loaded.origins })
        : raw;
      result.push({ adapter, config });
    } catch (error) {
      problems.push(...asConfigErrors(error, file, path));
    }
  }
  if (problems.length > 0) throw ConfigError.combine(problems);
  return result;
}

async function preflightAdapters(loaded: LoadedConfig, only?: string[]): Promise<void> {
  await loadAdapters(loaded, only);
}

/**
 * Coordination between workers: on the Redis `coordination.url` names, else on a Redis history
 * store, else none (one process: core/queue.ts and in-memory admission). Not opened for a check.
 */
async function openCoordination(loaded: LoadedConfig, logger: Logger, checkOnly = false): Promise<Coordination | undefined> {
  const { coordination, history } = loaded.config;
  const url = coordination.url ?? (historyScheme(history.store) === 'redis' ? history.store : undefined);
  if (!url || checkOnly) return undefined;
  return openRedisCoordination(url, coordination, logger);
}

/** The history store, or for a check only its URL's scheme. */
async function openStore(loaded: LoadedConfig, checkOnly = false): Promise<HistoryStore> {
  const url = loaded.config.history.store;
  if (checkOnly) {
    if (!historyScheme(url)) await openHistoryStore(url, loaded.dir, configFile(loaded)); // throws the scheme's ConfigError
    return new MemoryHistoryStore();
  }
  return openHistoryStore(url, loaded.dir, configFile(loaded));
}

/** The feedback store when feedback is on: the one given, or the one `feedback.store` (else `history.store`) names; for a check only its scheme. */
async function openFeedback(loaded: LoadedConfig, options: BotOptions): Promise<FeedbackStore | undefined> {
  const { feedback, history } = loaded.config;
  if (!feedback.enabled) return undefined;
  if (options.feedback) return options.feedback;
  const url = feedback.store ?? history.store;
  if (options.checkOnly) return historyScheme(url) ? undefined : openFeedbackStore(url, loaded.dir, configFile(loaded));
  return openFeedbackStore(url, loaded.dir, configFile(loaded));
}

/**
 * maxNewTokens must leave room in the model's context window for at least a short message: the
 * same encoding a turn makes, with a one-word message, must fit (config, then each preset).
 */
function windowProblems(engine: DialogueEngine, maxNewTokens: number, where: { file: string; path: string }, presets: Preset[]): ConfigError[] {
  const problems: ConfigError[] = [];
  const check = (reserve: number, file: string, path: string) => {
    try {
      engine.encodeDialogue({ persona: [], knowledge: [], history: [{ role: 'user', text: 'hi', at: 0 }] }, reserve);
    } catch {
      problems.push(
        new ConfigError({ file, path, expected: `at most what leaves room for a message in the model's ${engine.info.contextWindow}-token context window`, got: String(reserve) }),
      );
    }
  };
  check(maxNewTokens, where.file, where.path);
  for (const preset of presets) {
    if (preset.decoding.maxNewTokens !== undefined) check(preset.decoding.maxNewTokens, preset.file ?? preset.name, '/decoding/maxNewTokens');
  }
  return problems;
}

/**
 * Selection weights (config, then each preset) that name a score no enabled plugin declares. One
 * close to a declared name is a typo that would silently count 0: a config error with the
 * suggestion. Others are scores of plugins this bot does not enable (a shared preset weighting
 * `grounding.support`): a warning, since they count 0 here.
 */
function weightProblems(
  weights: Record<string, number>,
  plugins: Plugin[],
  where: { file: string; path: string },
  presets: Preset[],
): { errors: ConfigError[]; warnings: string[] } {
  const declared = Object.keys(declaredScores(plugins)).join(', ');
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  const check = (values: Record<string, number>, file: string, path: string) => {
    for (const { name, suggestion } of unknownWeights(values, plugins) ?? []) {
      const at = pointerJoin(path, name);
      if (suggestion) {
        errors.push(new ConfigError({ file, path: at, expected: `a score the engine or an enabled plugin gives (${declared}); did you mean "${suggestion}"?`, got: JSON.stringify(name) }));
      } else warnings.push(`${file}: ${at}: no enabled plugin gives the score "${name}", so its weight counts 0 here`);
    }
  };
  check(weights, where.file, where.path);
  for (const preset of presets) check(preset.selection.weights, preset.file ?? preset.name, '/selection/weights');
  return { errors, warnings };
}

/** Any error from loading a part, as ConfigErrors at that part's place in the config. */
function asConfigErrors(error: unknown, file: string, path: string): ConfigError[] {
  if (error instanceof ConfigError) return error.problems;
  return [new ConfigError({ file, path }, messageOf(error))];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
