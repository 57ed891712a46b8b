/**
 * The bot: loads the engine, plugins, presets and history store named by a config, runs each
 * incoming message through commands or the pipeline (one turn at a time per conversation), and
 * starts the configured adapters. It is the `BotHost` plugins and adapters work with.
 */
import { randomUUID } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { builtinCommands, parseCommand } from './commands.js';
import { ConfigError, loadPresets, presetDirs, validatePluginConfig } from './config/index.js';
import type { BotConfig, LoadedConfig } from './config/types.js';
import { loadEngine as openEngine } from './engine/index.js';
import { EngineServerClient, requireFeatures } from './engine/remote/index.js';
import type { DialogueEngine, EngineFeature, EngineOptions } from './engine/types.js';
import { EventBus } from './events.js';
import { conversationKey, openHistoryStore, trimHistory, type HistoryStore } from './history/index.js';
import { createLogger, type Logger } from './log.js';
import { loadAdapter, loadPlugin } from './modules.js';
import { runPipeline } from './pipeline.js';
import { KeyedSerialQueue, Semaphore } from './queue.js';
import { cleanText } from './text.js';
import type {
  Adapter,
  BotEvents,
  BotHost,
  Command,
  Conversation,
  ConversationAddress,
  IncomingMessage,
  Plugin,
  Preset,
  PresetRegistry,
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
  /** Model loading progress (the terminal shows it as a progress line). */
  onProgress?: (message: string, fraction?: number) => void;
}

/** Sends a reply on the platform. History is written only after it resolves. */
export type Deliver = (reply: Reply) => Promise<void>;

const APOLOGY = 'Sorry, something went wrong on my side while answering that. Please try again.';

export class Bot implements BotHost {
  readonly events: EventBus<BotEvents>;
  readonly commands = new Map<string, Command>();
  readonly presets: PresetRegistry;
  private readonly queue = new KeyedSerialQueue();
  private readonly engines = new Map<string, Promise<DialogueEngine>>();
  private readonly running: Adapter[] = [];
  private stopped = false;

  private constructor(
    readonly loaded: LoadedConfig,
    readonly logger: Logger,
    readonly engine: DialogueEngine,
    private readonly engineSlots: Semaphore,
    private readonly history: HistoryStore,
    readonly plugins: readonly Plugin[],
    presets: Preset[],
    private readonly options: BotOptions,
    private readonly remote?: EngineServerClient,
  ) {
    this.events = new EventBus<BotEvents>((event, error) => logger.error({ err: error, event }, 'event listener failed'));
    this.presets = createPresetRegistry(presets, loaded.config, configFile(loaded));
    for (const command of builtinCommands()) this.commands.set(command.name, command);
  }

  /** Loads everything the config names; fails with an actionable error before any message is taken. */
  static async create(loaded: LoadedConfig, options: BotOptions = {}): Promise<Bot> {
    const { config, dir } = loaded;
    const logger = options.logger ?? createLogger(config.log.level, { name: config.name });
    for (const warning of loaded.warnings ?? []) logger.warn(warning);
    const slots = new Semaphore(config.engine.maxConcurrentGenerations);
    const presets = await loadPresets(presetDirs(loaded));
    const history = await openHistoryStore(config.history.store, dir);
    const engines = new Map<string, Promise<DialogueEngine>>();
    const engineOptions = engineOptionsFrom(config);
    const enginePath = resolve(dir, config.engine.model);
    const remote = config.engine.url ? await EngineServerClient.connect(remoteOptionsFrom(config, logger)) : undefined;
    const engine = limitEngine(await openModel(remote, enginePath, { ...engineOptions, onProgress: options.onProgress }, logger), slots);
    requireFeatures(engine, decodingNeeds(config, presets), 'decoding.strategy beam (in the config or a preset)');
    engines.set(enginePath, Promise.resolve(engine));

    const plugins: Plugin[] = [];
    for (const [spec, pluginConfig] of Object.entries(config.plugins)) {
      if (pluginConfig === false) continue;
      plugins.push(await loadPlugin(spec, dir));
    }
    plugins.push(...(options.plugins ?? []));

    const bot = new Bot(loaded, logger, engine, slots, history, plugins, presets, options, remote);
    for (const [path, promise] of engines) bot.engines.set(path, promise);
    for (const plugin of plugins) {
      const raw = config.plugins[plugin.name] ?? {};
      const pluginConfig = plugin.configSchema
        ? validatePluginConfig(plugin.name, plugin.configSchema, raw === true || raw === null ? {} : raw, { file: configFile(loaded), path: `/plugins/${plugin.name}` })
        : raw;
      await plugin.setup?.(bot, pluginConfig);
    }
    return bot;
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
    await this.history.save(conversation);
  }

  /**
   * Answers one message. Turns of one conversation run one after another; `deliver` (the
   * adapter's send) runs inside the turn, and the history is written only once it succeeded.
   */
  handle(message: IncomingMessage, deliver?: Deliver): Promise<Reply> {
    if (this.stopped) return Promise.reject(new Error('The bot is stopped'));
    return this.queue.run(conversationKey(message), () => this.answer(message, deliver));
  }

  private async answer(incoming: IncomingMessage, deliver?: Deliver): Promise<Reply> {
    const message = { ...incoming, text: cleanText(incoming.text) };
    const conversation = await this.conversation(message);
    const early = await this.screen(message, conversation);
    if (early) {
      await deliver?.(early);
      return early;
    }
    const turn = this.newTurn(message, conversation);
    const started = performance.now();
    this.events.emit('turn:start', { turn });
    try {
      await runPipeline(turn, {
        plugins: this.plugins,
        engine: this.engine,
        events: this.events,
        weights: { ...this.config.selection.weights, ...turn.preset.selection.weights },
        fallback: turn.preset.selection.fallback ?? this.config.selection.fallback,
      });
    } catch (error) {
      this.logger.error({ err: error, conversation: conversation.key, turn: turn.id }, 'turn failed');
      this.events.emit('turn:error', { turn, error });
      turn.reply = { text: APOLOGY, kind: 'error', citations: [] };
    }
    const reply = turn.reply!;
    this.events.emit('reply', { turn, reply });
    await deliver?.(reply);
    if (reply.kind !== 'error') {
      const now = Date.now();
      conversation.history.push({ role: 'user', text: message.text, at: now }, { role: 'bot', text: reply.text, at: now });
      await this.saveConversation(conversation);
    }
    this.events.emit('turn:end', { turn, ms: performance.now() - started });
    return reply;
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

  private newTurn(message: IncomingMessage, conversation: Conversation): Turn {
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
        history: [...preset.greeting, ...conversation.history, { role: 'user', text: message.text, at: Date.now() }],
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
    const { config, dir } = this.loaded;
    const wanted = Object.entries(config.adapters).filter(
      ([name, value]) => value !== false && (!this.options.onlyAdapters || this.options.onlyAdapters.includes(name)),
    );
    for (const [spec, raw] of wanted) {
      const adapter = await loadAdapter(spec, dir);
      const adapterConfig = adapter.configSchema
        ? validatePluginConfig(spec, adapter.configSchema, raw === true || raw === null ? {} : raw, { file: configFile(this.loaded), path: `/adapters/${spec}` })
        : raw;
      await this.startAdapter(adapter, adapterConfig);
    }
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
    score: (pairs) => slots.use(() => engine.score(pairs)),
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
