/**
 * The contracts of banter. Plugins and adapters depend on these types only (and on core's
 * helpers); core never imports a plugin or an adapter: they are registered from config.
 */
import type { AdmissionOverrides } from './admission/admission.js';
import type { DecodeOptions, DialogueEngine, EngineOptions } from './engine/types.js';
import type { EventBus } from './events.js';
import type { PluginError } from './errors.js';
import type { Logger } from './log.js';

export type JSONSchema = Record<string, unknown>;

/** Where a conversation lives. Its string form (see `conversationKey`) is the history key. */
export interface ConversationAddress {
  platform: string;
  channel: string;
  /** Thread id on platforms that have threads; a thread is its own conversation. */
  thread?: string;
}

export interface Speaker {
  id: string;
  name?: string;
  /** Set by the adapter from the platform's permissions (or a configured role). */
  isAdmin?: boolean;
}

/** What an adapter hands to the bot. */
export interface IncomingMessage extends ConversationAddress {
  text: string;
  user: Speaker;
  /** Platform message id, when there is one (for logs and dedupe). */
  id?: string;
}

export interface HistoryTurn {
  role: 'user' | 'bot';
  text: string;
  /** Epoch milliseconds. */
  at: number;
}

/** What is stored per conversation key. Plugins keep their own per-channel state in `state`. */
export interface Conversation {
  key: string;
  /** Name of the preset routed to this conversation (or set by `/preset`). */
  preset: string;
  /** Per-channel persona lines set by `/persona`; overrides the preset's persona when present. */
  persona?: string[];
  history: HistoryTurn[];
  state: Record<string, unknown>;
}

/** A retrieved passage kept as evidence for a turn. */
export interface Evidence {
  id: string;
  title: string;
  url: string;
  text: string;
  score: number;
}

export interface Citation {
  title: string;
  url: string;
}

/** The parts of the prompt, as the model will see them (history already truncated to fit). */
export interface PromptParts {
  persona: string[];
  knowledge: string[];
  history: HistoryTurn[];
}

export interface Candidate {
  text: string;
  tokens: number[];
  /** Summed log-probability of the tokens under the forward model. */
  logprob: number;
  /** Mean log-probability per token. */
  avgLogprob: number;
  /** Named scores added by plugins (`mmi`, `safety.threat`, `grounding.support`, ...). */
  scores: Record<string, number>;
  /** Set by a filter: the candidate is out, with who rejected it and why. */
  rejected?: { by: string; reason: string };
  /** Weighted total computed at the select stage. */
  total?: number;
}

/**
 * `busy`, `rate-limited`, `deadline` (a turn took too long), `dropped` and `merged` (both never
 * delivered: `merged` is a message the `debounce` policy folded into its burst's turn) come from
 * admission (core/admission); none is stored in history.
 */
export type ReplyKind = 'model' | 'fallback' | 'command' | 'refusal' | 'evidence' | 'error' | 'busy' | 'rate-limited' | 'deadline' | 'dropped' | 'merged';

export interface Reply {
  text: string;
  kind: ReplyKind;
  citations: Citation[];
  /** The turn that wrote it (set by core; absent for commands and replies made before a turn). */
  turnId?: string;
  /** Set by core when people may rate it: `BotHost.rate` with `turnId` records their 👍/👎. */
  rateable?: boolean;
}

/** The part of a one-candidate reply written so far, as the stream checks it. */
export interface PartialReply {
  /** Everything written so far, up to the end of the newest complete sentence. */
  text: string;
  /** The sentence(s) completed since the last check: what would be shown next. */
  sentence: string;
}

/** A plugin's objection to a partial reply: the stream stops and the candidate is rejected with this reason. */
export interface PartialRejection {
  reason: string;
}

/**
 * Where an adapter shows a one-candidate reply while it is written. Core calls `update` with the
 * text so far, which only ever grows by complete sentences that every plugin's `checkPartial`
 * passed; the finished reply (which may differ: a fallback, citations) still arrives through
 * `deliver`, which replaces what was shown.
 */
export interface ReplyStream {
  update(text: string): void;
}

export type Stage = 'inspect' | 'prompt' | 'generate' | 'score' | 'filter' | 'select' | 'finalize';
export const STAGES: readonly Stage[] = ['inspect', 'prompt', 'generate', 'score', 'filter', 'select', 'finalize'];

export interface TraceEntry {
  stage: Stage;
  /** The plugin that ran, or `core` for the core's own work in the stage. */
  by: string;
  ms: number;
  note?: string;
}

/** A role preset, loaded from a config file (see config/preset.schema.json). */
export interface Preset {
  name: string;
  description?: string;
  persona: string[];
  /** Turns that pre-condition the conversation (LaMDA: "Hi, I'm Mount Everest. ..."). */
  greeting: HistoryTurn[];
  /** Knowledge source folders or files, resolved to absolute paths. */
  knowledge: string[];
  decoding: Partial<DecodeOptions>;
  /** Per-plugin overrides, keyed by plugin name (e.g. `safety: { thresholds: {...} }`). */
  plugins: Record<string, unknown>;
  selection: { weights: Record<string, number>; fallback?: string };
  /** Overrides of the bot's `admission` settings for conversations in this role (caps, policy, rates, deadline). */
  admission?: AdmissionOverrides;
  /** The file it came from, for messages. */
  file?: string;
}

/** One turn through the pipeline. Plugins read and write it; every stage is traced. */
export interface Turn {
  id: string;
  message: IncomingMessage;
  conversation: Conversation;
  preset: Preset;
  /** Effective decoding options: bot config, then preset overrides. */
  decoding: DecodeOptions;
  prompt: PromptParts;
  /** Encoded prompt, filled by core before generation. */
  promptTokens: number[];
  /** The prompt as the model reads it, control tokens included (the rendered chat template), for inspectors. */
  promptText: string;
  evidence: Evidence[];
  candidates: Candidate[];
  /** Set early (by inspect) to answer without generating; set by select otherwise. */
  reply?: Reply;
  /** Set by a plugin's finalize to the candidate index used for the reply, or -1. */
  chosen: number;
  trace: TraceEntry[];
  /** Per-turn scratch space for plugins, keyed by plugin name. */
  data: Record<string, unknown>;
}

export interface Plugin<Config = unknown> {
  name: string;
  /** JSON Schema of this plugin's config; validated with ajv before `setup`. */
  configSchema?: JSONSchema;
  /**
   * The scores its `score` hook adds, each with its default weight in selection (0: shown, not
   * weighted); a trailing `*` names a family (`safety.*`). Config and presets may override the
   * weights; a weight naming no declared score is a config error.
   */
  scores?: Record<string, number>;
  /** A failing `score` hook only drops this plugin's scores (logged) instead of failing the turn. */
  optionalScores?: boolean;
  setup?(bot: BotHost, config: Config): void | Promise<void>;
  /** May answer at once (a command, a refusal): the returned reply ends the turn before generation. */
  inspect?(turn: Turn): void | Reply | undefined | Promise<void | Reply | undefined>;
  prompt?(turn: Turn): void | Promise<void>;
  score?(turn: Turn): void | Promise<void>;
  filter?(turn: Turn): void | Promise<void>;
  finalize?(turn: Turn): void | Promise<void>;
  /**
   * Streaming (one-candidate turns): called each time the reply being generated completes a
   * sentence, before that sentence is shown. Returning a rejection stops the stream: generation is
   * aborted, the candidate is rejected with the reason, and the turn ends as if `filter` had
   * rejected it (the fallback replaces what was shown). The finished candidate still goes through
   * `score` and `filter` as a whole.
   */
  checkPartial?(partial: PartialReply, turn: Turn): void | PartialRejection | Promise<void | PartialRejection>;
  dispose?(): void | Promise<void>;
}

/** A module that provides a plugin: its default export is a factory. */
export type PluginFactory = () => Plugin<any>;

export interface Adapter<Config = unknown> {
  name: string;
  configSchema?: JSONSchema;
  start(bot: BotHost, config: Config): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the adapter ended on its own (the terminal's `/quit` or end of input). */
  readonly finished?: Promise<void>;
  /** Where people reach it, when it has an address of its own (the web chat), once started. */
  readonly url?: string;
}

export type AdapterFactory = () => Adapter<any>;

/** A chat command (`/reset`, `/preset NAME`, ...). One table serves every adapter. */
export interface Command {
  name: string;
  description: string;
  /** Only admins may run it (adapters map platform permissions to `Speaker.isAdmin`). */
  admin?: boolean;
  /** Free-text argument description, for help and slash-command registration. */
  argument?: { name: string; description: string; required: boolean };
  run(ctx: CommandContext): Promise<string> | string;
}

export interface CommandContext {
  bot: BotHost;
  message: IncomingMessage;
  conversation: Conversation;
  args: string;
}

/** What plugins and adapters get to work with. */
export interface BotHost {
  readonly name: string;
  readonly events: EventBus<BotEvents>;
  readonly logger: Logger;
  /** The forward dialogue engine. */
  readonly engine: DialogueEngine;
  /** Loads (or reuses) another engine, e.g. MMI's backward model; path relative to the config. */
  loadEngine(modelPath: string, options?: Partial<EngineOptions>): Promise<DialogueEngine>;
  /** Resolves a path written in config (relative to the config file's folder). */
  resolvePath(path: string): string;
  readonly presets: PresetRegistry;
  readonly commands: Map<string, Command>;
  /**
   * Runs one message through commands or the pipeline, serialized per conversation. `deliver`
   * (the adapter's send) runs inside the turn; the turn is saved before it and taken back out if
   * it rejects. A history save that fails never fails the turn (it is retried, then logged).
   */
  handle(message: IncomingMessage, deliver?: Deliver, options?: HandleOptions): Promise<Reply>;
  /**
   * Records a person's rating of a reply, by the `turnId` its Reply carried, with the turn's whole
   * trace. One rating per person and turn: a later one (or one with a reason) replaces it.
   * Never throws: the outcome says what to tell the person.
   */
  rate(request: RateRequest): Promise<RateOutcome>;
  /** Reads a conversation (creating it from routing if new). */
  conversation(address: ConversationAddress): Promise<Conversation>;
  /** Writes a conversation back (commands and plugins that change per-channel state). */
  saveConversation(conversation: Conversation): Promise<void>;
  /**
   * Records `id` in the history store for `ttlMs`: true the first time, false while it is still
   * recorded, across restarts and processes sharing the store (a platform's re-sent events).
   */
  claimOnce(id: string, ttlMs: number): Promise<boolean>;
}

export interface HandleOptions {
  /** Shows the reply as it is written when the turn generates one candidate (see ReplyStream). */
  stream?: ReplyStream;
  /**
   * Called once admission has accepted the message, before it waits for its conversation's turn:
   * from here until `handle` settles the bot is working on it (adapters show typing). Not called
   * for a message admission refuses.
   */
  onAccepted?: () => void;
}

/** Sends a reply on the platform; a rejection means the user did not get it. */
export type Deliver = (reply: Reply, delivery: Delivery) => Promise<void>;

/** What comes with a reply to `deliver`. */
export interface Delivery {
  /** The turn the reply ends; absent for replies made without one (commands, refusals, admission notices). */
  turn?: Turn;
  /** Milliseconds the turn took until this delivery, with `turn`. */
  ms?: number;
  /** Why the turn failed, when the reply is the apology for it. */
  error?: unknown;
}

export type Rating = 'up' | 'down';

export interface RateRequest {
  turnId: string;
  rating: Rating;
  /** Optional free text: why. */
  reason?: string;
  /** Who rates (the platform's user id; stored hashed unless `feedback.hashUserIds` is false). */
  user: Pick<Speaker, 'id'>;
  /** Where the rating came from: it must be the conversation of the turn. */
  address: ConversationAddress;
}

export type RateOutcome = { ok: true; message: string } | { ok: false; message: string };

export interface PresetRegistry {
  get(name: string): Preset | undefined;
  list(): Preset[];
  /** The preset routed to an address by config, or the default. */
  route(address: ConversationAddress): string;
}

/** Events on the bot's bus. Observers (logs, metrics, the web inspector) subscribe here. */
export interface BotEvents {
  'turn:start': { turn: Turn };
  /** After each stage, with the trace so far. */
  stage: { turn: Turn; stage: Stage };
  /** After filter: every candidate with its scores and rejection reason. */
  candidates: { turn: Turn };
  reply: { turn: Turn; reply: Reply };
  'turn:end': { turn: Turn; ms: number };
  'turn:error': { turn: Turn; error: unknown };
  /** A plugin hook failed; for an optional scorer the turn went on without its scores. */
  'plugin:error': { turn: Turn; error: PluginError };
  'engine:progress': { model: string; message: string; fraction?: number };
  /** Admission turned a message away (a cap or a rate limit); `reply` is what the user got (`dropped`: nothing). */
  'admission:refused': { message: IncomingMessage; reason: 'conversation' | 'user' | 'total' | 'rate'; reply: Reply };
  /** A turn passed its deadline (`admission.turnDeadlineMs`): the user got `reply` (kind `deadline`) and the turn was aborted. */
  'admission:deadline': { message: IncomingMessage; reply: Reply; ms: number };
}
