/**
 * The bot config's sections, each declared once with TypeBox: the TypeScript type (`Static`), the
 * defaults (`default`, applied by ajv as the config is validated) and the JSON Schema all come from
 * here. A field with a default is declared required, since it is always there once validated; the
 * published schema (`botConfigSchema`) leaves it out of `required`, so a config file may omit it.
 * config/bot.schema.json is this schema plus every built-in plugin's and adapter's own section
 * (`npm run schema` writes it; a test checks that it is up to date).
 */
import { Type, type SchemaOptions, type Static } from '@sinclair/typebox';
import type { AdmissionConfig } from '../admission/admission.js';
import type { CoordinationConfig } from '../coordination/types.js';
import type { DecodeOptions } from '../engine/types.js';
import type { JSONSchema } from '../types.js';
import { Enum, overridesOf, publishedSchema, StringMap } from './declare.js';

/** The plugins or adapters map: each entry is checked against its module's own schema when it is loaded. */
function ModuleMap(options: SchemaOptions & { entry: string }) {
  const { entry, ...rest } = options;
  return Type.Unsafe<Record<string, unknown>>({ ...rest, type: 'object', additionalProperties: { description: entry, type: ['object', 'boolean', 'null'] }, default: {} });
}

/** `engine`: the dialogue model and how to run it. */
export const EngineSection = Type.Object({
  model: Type.String({"description": "Model folder in the Hugging Face layout (config.json, tokenizer.json, onnx/model.onnx), relative to this config file.", "minLength": 1}),
  device: Enum(["cpu", "webgpu", "cuda", "auto"], {"description": "Where the model runs: `cpu`; `webgpu` (Dawn on Vulkan: NVIDIA, AMD, Intel GPUs; needs libvulkan1 and the GPU's Vulkan driver; the key/value cache stays in GPU memory); `cuda` (needs onnxruntime-node installed with --onnxruntime-node-install=cuda12); `auto` tries cuda where its provider library is installed, then webgpu where the machine has a GPU device (never a software Vulkan adapter such as lavapipe), then cpu, and says why it skipped each.", "default": "cpu"}),
  fallback: Type.Optional(Enum(["cpu", "fail"], {"description": "When the asked device is unavailable: run on the CPU (`cpu`, the default) or fail at start (`fail`)."})),
  cudaFallback: Type.Optional(Type.Boolean({"description": "Deprecated: use `fallback` (true is `cpu`, false is `fail`).", "deprecated": true})),
  dtype: Enum(["auto", "fp32", "fp16", "q8", "int8", "uint8", "q4", "q4f16", "bnb4"], {"description": "Which ONNX file of the model folder runs, as transformers.js names them: fp32 (model.onnx), fp16 (model_fp16.onnx), q8 (model_quantized.onnx), int8, uint8, q4 (model_q4.onnx), q4f16, bnb4; `auto` picks full precision on the CPU and half precision on a GPU, among the files present.", "default": "auto"}),
  intraOpThreads: Type.Optional(Type.Integer({"description": "Threads onnxruntime uses inside one operator (CPU). Unset: onnxruntime's default.", "minimum": 1})),
  interOpThreads: Type.Optional(Type.Integer({"description": "Threads onnxruntime uses across operators (CPU). Unset: onnxruntime's default.", "minimum": 1})),
  thread: Enum(["worker", "main"], {"description": "Where the models run: `worker` (default), a worker thread per model, so that forward passes (which hold their thread for the whole pass in onnxruntime-node) never stall the adapters' event loop (heartbeats, sockets); `main`, the bot's own thread.", "default": "worker"}),
  maxConcurrentGenerations: Type.Integer({"description": "How many engine calls (generations and scoring passes, all models) may be in flight at once across all conversations; those in flight are batched together. 1 serves one turn at a time.", "default": 16, "minimum": 1}),
  maxBatchRows: Type.Integer({"description": "Rows (candidates of all turns in flight) one decode step may hold; a turn that does not fit waits for the next step with room.", "default": 64, "minimum": 1}),
  prefillChunk: Type.Integer({"description": "Prompt tokens per prefill pass: a long prompt is run in chunks between decode steps, so it cannot stall turns already decoding.", "default": 256, "minimum": 1}),
  url: Type.Optional(Type.String({"description": "An OpenAI-compatible engine server that runs the models instead of this process (`banter engine serve`, vLLM, llama.cpp's server, TGI), e.g. http://gpu-box:8000/v1. `model` still names the local folder of the served model: its tokenizer, chat template or dialogue format and config files are read here (no ONNX file is needed). Other models (plugins.mmi.model) run on the server when it serves a model of their folder's name, else here. What the server lacks is found out and logged at start.", "pattern": "^https?://", "examples": ["http://gpu-box:8000/v1", "http://127.0.0.1:8000/v1"]})),
  apiKey: Type.Optional(Type.String({"description": "Bearer token for the engine server; write ${SOME_ENV_VAR}, never the key itself."})),
  servedModel: Type.Optional(Type.String({"description": "The engine server's name for `model` (its id in GET /v1/models). Default: the served model named like the folder, or the only one.", "minLength": 1})),
  timeoutMs: Type.Integer({"description": "Longest wait for one answer of the engine server, in milliseconds.", "default": 120000, "minimum": 1}),
  retryForMs: Type.Integer({"description": "How long an engine call keeps being re-sent while the engine server is unreachable (restarting) or overloaded, in milliseconds; past that the turn fails with the bot's apology. 0: never re-sent.", "default": 30000, "minimum": 0}),
}, {"description": "The dialogue model and how to run it.", "additionalProperties": false});

/** Decoding options as a preset or the bot config writes them (all optional; `decoding` supplies the defaults). */
export const DecodeOptionsSchema = Type.Object({
  strategy: Type.Optional(Enum(["sample", "greedy", "beam"], {"description": "`sample`: temperature/top-k/top-p sampling; `greedy`: argmax; `beam`: beam search."})),
  numCandidates: Type.Optional(Type.Integer({"description": "Candidates generated per turn, then scored, filtered and ranked (beam: the best beams, at most beamWidth).", "minimum": 1, "maximum": 64})),
  temperature: Type.Optional(Type.Number({"description": "Divides the logits before sampling: below 1 is safer, above 1 more varied.", "exclusiveMinimum": 0})),
  topK: Type.Optional(Type.Integer({"description": "Sample among the K most likely tokens; 0 disables.", "minimum": 0})),
  topP: Type.Optional(Type.Number({"description": "Nucleus sampling: sample among the most likely tokens whose probabilities sum to P; 1 disables.", "maximum": 1, "exclusiveMinimum": 0})),
  repetitionPenalty: Type.Optional(Type.Number({"description": "CTRL-style penalty on tokens already seen, the prompt's included (as in Hugging Face), so values above 1 also discourage copying a knowledge snippet or persona line; 1 disables.", "exclusiveMinimum": 0})),
  noRepeatNgramSize: Type.Optional(Type.Integer({"description": "No n-gram of this size is generated twice within a candidate; 0 disables.", "minimum": 0})),
  minNewTokens: Type.Optional(Type.Integer({"description": "The end token is not allowed before this many new tokens.", "minimum": 0})),
  maxNewTokens: Type.Optional(Type.Integer({"description": "A candidate is cut after this many new tokens.", "minimum": 1})),
  seed: Type.Optional(Type.Integer({"description": "Seed of the sampler: the same seed, prompt and options give the same candidates. Unset: random."})),
  beamWidth: Type.Optional(Type.Integer({"description": "Beams kept at each step (beam strategy).", "minimum": 1})),
  lengthPenalty: Type.Optional(Type.Number({"description": "Beam score = sum of logprobs / length ** lengthPenalty."})),
}, {"description": "Decoding options (all optional here; the bot config supplies defaults).", "additionalProperties": false});

/** `decoding`: the bot's decoding options; `$defs/decodeOptions` declares them, this adds the defaults. */
export const DecodingSection = Type.Unsafe<DecodeOptions>({
  description: 'How replies are decoded. Presets may override any of these.',
  type: 'object',
  $ref: '#/$defs/decodeOptions',
  properties: {
    strategy: { default: 'sample' },
    numCandidates: { default: 8 },
    temperature: { default: 0.8 },
    topK: { default: 40 },
    topP: { default: 0.9 },
    repetitionPenalty: { default: 1 },
    noRepeatNgramSize: { default: 3 },
    minNewTokens: { default: 1 },
    maxNewTokens: { default: 40 },
    beamWidth: { default: 4 },
    lengthPenalty: { default: 1 },
  },
  default: {},
});

/** `history`: where conversations are kept and how much of them the model sees. */
export const HistorySection = Type.Object({
  store: Type.String({"description": "History store URL: `memory://` (lost on restart), `sqlite://PATH` (an embedded SQLite database, relative to this config file), `file://PATH.json` (the same database at PATH.sqlite, importing an old JSON history at PATH once), `redis://HOST:PORT[/DB]`.", "default": "memory://", "pattern": "^(memory|sqlite|file|redis|rediss)://", "examples": ["memory://", "sqlite://.banter/history.sqlite", "redis://127.0.0.1:6379/0"]}),
  maxTurns: Type.Integer({"description": "Most turns kept per conversation (oldest dropped first).", "default": 20, "minimum": 1}),
  maxTokens: Type.Integer({"description": "Most history tokens kept per conversation (oldest turns dropped first).", "default": 512, "minimum": 1}),
}, {"description": "Where conversations are kept and how much of them the model sees.", "default": {}, "additionalProperties": false});

/** `selection`: how the reply is chosen. */
export const SelectionSection = Type.Object({
  weights: StringMap(Type.Number(), {"description": "Weighted sum of candidate scores: `avgLogprob`, `logprob`, and plugin scores by name (`mmi`, `grounding.support`, ...).", "default": {"avgLogprob": 1}}),
  fallback: Type.String({"description": "Said when no candidate survives the filters.", "default": "Sorry, I don't have a good answer to that.", "minLength": 1}),
}, {"description": "How the reply is chosen among the candidates that survive the filters.", "default": {}, "additionalProperties": false});

/** `feedback`: ratings of replies. */
export const FeedbackSection = Type.Object({
  enabled: Type.Boolean({"description": "Offer feedback buttons on replies (web chat, Discord, Slack) and record what people say.", "default": true}),
  store: Type.Optional(Type.String({"description": "Feedback store URL, as for the history store: `memory://`, `sqlite://PATH`, `file://PATH` (a SQLite database; `.json` becomes `.sqlite`), `redis://HOST:PORT[/DB]`. Unset: the history store's URL (the same database or server, its own tables or keys).", "pattern": "^(memory|sqlite|file|redis|rediss)://", "examples": ["sqlite://.banter/feedback.sqlite", "redis://127.0.0.1:6379/0"]})),
  retentionDays: Type.Number({"description": "A rating, with its turn's trace, is deleted this many days after it was given.", "default": 90, "exclusiveMinimum": 0}),
  rateWithinDays: Type.Number({"description": "How long after it was sent a reply can be rated; its trace is kept that long for that.", "default": 7, "exclusiveMinimum": 0}),
  hashUserIds: Type.Boolean({"description": "Store a keyed pseudonym of each person's platform id (HMAC-SHA256, key kept in the store) instead of the id itself.", "default": true}),
  maxReasonLength: Type.Integer({"description": "Longest free-text reason kept, in characters; longer ones are cut.", "default": 500, "minimum": 0}),
}, {"description": "👍/👎 on replies, stored with each turn's trace (every candidate, its scores and why it was rejected) for `banter feedback export` and `banter tune selection`.", "default": {}, "additionalProperties": false});

/** `presets`: where presets are and which conversation gets which. */
export const PresetsSection = Type.Object({
  dirs: Type.Array(Type.String({"minLength": 1}), {"description": "Folders of preset files (YAML/JSON), relative to this config file. The built-in presets come first; later folders override presets of the same name.", "default": []}),
  default: Type.String({"description": "Preset of conversations no route matches.", "default": "default", "minLength": 1}),
  routes: StringMap(Type.String({"minLength": 1}), {"description": "Conversation key prefix (`discord:123`, `slack:C1`, `web`) -> preset name. The longest matching prefix wins.", "default": {}}),
}, {"description": "Role presets: where they are and which conversation gets which.", "default": {}, "additionalProperties": false});

/** `log`. */
export const LogSection = Type.Object({
  level: Enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {"description": "Least severe level written to stderr.", "default": "warn"}),
}, {"description": "Logging.", "default": {}, "additionalProperties": false});

/** `admission`: caps on waiting turns, rate limits, debounce and the turn deadline (see core/admission). */
export const AdmissionSection = Type.Object({
  maxPerConversation: Type.Integer({"description": "Turns waiting or running per conversation; 0: no cap.", "default": 8, "minimum": 0}),
  maxPerUser: Type.Integer({"description": "Turns waiting or running per user (across conversations and sockets); 0: no cap.", "default": 8, "minimum": 0}),
  maxTotal: Type.Integer({"description": "Turns waiting or running in the whole bot; 0: no cap.", "default": 256, "minimum": 0}),
  policy: Enum(["busy", "drop", "debounce"], {"description": "Beyond a cap: busy (answer busyText) or drop (no answer; logged and evented); debounce answers like busy and also makes quick messages of one user in one conversation one turn (see debounce).", "default": "busy"}),
  busyText: Type.String({"description": "The short polite reply of the busy policy.", "default": "I'm a bit busy right now — please try again in a moment.", "minLength": 1}),
  userRate: Type.Object({
    capacity: Type.Integer({"description": "Burst size (messages); 0 turns this limit off.", "default": 0, "minimum": 0}),
    perSecond: Type.Number({"description": "Tokens refilled per second.", "default": 1, "exclusiveMinimum": 0}),
  }, {"description": "Token bucket per user.", "default": {}, "additionalProperties": false}),
  channelRate: Type.Object({
    capacity: Type.Integer({"description": "Burst size (messages); 0 turns this limit off.", "default": 0, "minimum": 0}),
    perSecond: Type.Number({"description": "Tokens refilled per second.", "default": 5, "exclusiveMinimum": 0}),
  }, {"description": "Token bucket per channel.", "default": {}, "additionalProperties": false}),
  rateLimitedText: Type.String({"description": "The short polite reply to a message over a rate limit.", "default": "You're sending messages faster than I can answer — please slow down a little.", "minLength": 1}),
  debounce: Type.Object({
    windowMs: Type.Integer({"description": "A burst closes once this long passes without a new message from its user; its turn then answers every message in it.", "default": 1500, "minimum": 0}),
    maxMessages: Type.Integer({"description": "Most messages in one burst; the next one starts a new burst.", "default": 5, "minimum": 1}),
  }, {"description": "The debounce policy's bursts.", "default": {}, "additionalProperties": false}),
  turnDeadlineMs: Type.Integer({"description": "From admission to delivery, a turn may take this long (waiting included); then the user gets deadlineText, the turn's generation is aborted and nothing of it is stored. 0: no deadline.", "default": 60000, "minimum": 0}),
  deadlineText: Type.String({"description": "The short apology sent when a turn passes its deadline.", "default": "Sorry, that took me too long to answer — please try again.", "minLength": 1}),
}, {"description": "Bounds on waiting turns and message rates, checked before a message queues (counted per bot id in an AdmissionState).", "default": {}, "additionalProperties": false});

/** `coordination`: several workers on one Redis (see core/coordination). */
export const CoordinationSection = Type.Object({
  url: Type.Optional(Type.String({"description": "Redis URL every worker shares: redis://HOST:PORT[/DB] (rediss:// for TLS). Writes are fenced atomically when history.store is the same URL.", "pattern": "^rediss?://", "examples": ["redis://127.0.0.1:6379/0"]})),
  leaseMs: Type.Integer({"description": "Life of a conversation lock without renewal (renewed every third of it while a turn runs): a worker killed mid-turn frees its conversations after this.", "default": 15000, "minimum": 500}),
  lockWaitMs: Type.Integer({"description": "Longest wait for a conversation another worker is answering; past it the message gets admission.busyText.", "default": 120000, "minimum": 0}),
}, {"description": "Several workers serving one bot through one Redis: a lock per conversation (renewed while a turn runs, fenced on every history write), admission counts and Slack/Discord event dedupe shared by all. Unset url: history.store when it is Redis, else one process (nothing shared).", "default": {}, "additionalProperties": false});

/** The whole bot config, as validated (defaults applied). */
export const BotConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'URL of this schema, for editors.' })),
    name: Type.String({ description: 'Name of the bot, used in logs and by adapters that show a name.', default: 'banter', minLength: 1 }),
    engine: EngineSection,
    decoding: DecodingSection,
    history: HistorySection,
    selection: SelectionSection,
    feedback: FeedbackSection,
    presets: PresetsSection,
    plugins: ModuleMap({
      description: 'Plugin name (built-in, or a module path) -> its settings; `false` disables (so does `enabled: false`). Order is pipeline order.',
      entry: "Settings of this plugin, checked against the plugin's own schema; `true` or empty: defaults; `false`: disabled.",
    }),
    adapters: ModuleMap({
      description: 'Adapter name (terminal, web, discord, slack, or a module path) -> its settings; `false` disables (so does `enabled: false`). Secrets only as ${ENV_VAR}.',
      entry: "Settings of this adapter, checked against the adapter's own schema; `true` or empty: defaults; `false`: disabled.",
    }),
    log: LogSection,
    admission: AdmissionSection,
    coordination: CoordinationSection,
    maxMessageLength: Type.Integer({ description: 'Longest accepted message, in characters; longer ones get a polite refusal.', default: 4000, minimum: 1 }),
  },
  {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://unpkg.com/banter/config/bot.schema.json',
    title: 'banter bot config',
    description: 'A banter bot: its dialogue model, decoding, history, presets, plugins and adapters. Strings may use ${ENV_VAR} or ${ENV_VAR:-default}.',
    additionalProperties: false,
    // A preset's admission overrides: the section's fields, every one optional, without defaults.
    $defs: { decodeOptions: DecodeOptionsSchema, admissionOptions: overridesOf(AdmissionSection, 'Admission settings (all optional here; the bot config supplies defaults).') },
  },
);

// The sections whose TypeScript type another module owns must match it (a compile error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const admissionMatches: Same<Static<typeof AdmissionSection>, AdmissionConfig> = true;
const coordinationMatches: Same<Static<typeof CoordinationSection>, CoordinationConfig> = true;
const decodeOptionsFit: Static<typeof DecodeOptionsSchema> extends Partial<DecodeOptions> ? true : false = true;
void [admissionMatches, coordinationMatches, decodeOptionsFit];

/** The bot config's schema as ajv validates it (plugin and adapter sections are checked by their own schemas). */
export const botConfigSchema: JSONSchema = publishedSchema(BotConfigSchema);
