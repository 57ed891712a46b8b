/**
 * `engine.url`: the bot's models run on an OpenAI-compatible engine server (`banter engine serve`,
 * vLLM, llama.cpp's server, TGI). The client lists the server's models once, matches each model
 * folder the bot loads to a served model, probes what the server can do for it, and reports the
 * gaps at start; a folder the server does not serve runs in this process as before.
 */
import { basename } from 'node:path';
import { BanterError } from '../../errors.js';
import { MODEL_DTYPES, type ModelDtype } from '../dtype.js';
import { readModelDescription } from '../model-folder.js';
import { loadModelText } from '../model-text.js';
import type { DialogueEngine, EngineFeature } from '../types.js';
import { RemoteDialogueEngine } from './engine.js';
import { EngineServerConnection, RemoteEngineError, type ConnectionOptions } from './http.js';
import { probeServer } from './probe.js';

export { RemoteDialogueEngine } from './engine.js';
export { EngineServerConnection, RemoteEngineError } from './http.js';
export type { FeatureGap, ServerFeatures } from './probe.js';

export interface RemoteEngineOptions extends ConnectionOptions {
  /** The served model the bot's own engine (engine.model) is; default: the one named like its folder, or the only one. */
  servedModel?: string;
}

interface ModelCard {
  id: string;
  owned_by?: string;
  root?: string;
  max_model_len?: number;
  banter?: { dtype?: string };
}

/** The engine server's defaults: generations may take a while on a busy GPU; a restart takes seconds. */
export const REMOTE_DEFAULTS = { timeoutMs: 120_000, retryForMs: 30_000 };

export class EngineServerClient {
  private readonly engines = new Map<string, Promise<RemoteDialogueEngine>>();

  private constructor(
    readonly connection: EngineServerConnection,
    readonly models: readonly ModelCard[],
    private readonly options: RemoteEngineOptions,
  ) {}

  /** Lists the server's models (waiting up to `retryForMs` for a server that is still starting). */
  static async connect(options: RemoteEngineOptions): Promise<EngineServerClient> {
    const connection = new EngineServerConnection(options);
    const { body } = await connection.get<{ data?: ModelCard[] }>('/models');
    const models = Array.isArray(body.data) ? body.data.filter((card) => typeof card?.id === 'string') : [];
    if (models.length === 0) throw new RemoteEngineError('engine_server_protocol', `the engine server at ${connection.url} lists no models (GET /models)`);
    return new EngineServerClient(connection, models, options);
  }

  /** The served model for a local folder: the id asked for, else one named like the folder. */
  private cardFor(folder: string, main: boolean): ModelCard | undefined {
    const name = basename(folder);
    const wanted = main ? this.options.servedModel : undefined;
    if (wanted) {
      const card = this.models.find((model) => model.id === wanted);
      if (!card) throw new RemoteEngineError('engine_server_protocol', `engine.servedModel ${wanted} is not served at ${this.connection.url}; it serves ${this.ids()}`);
      return card;
    }
    const stem = (id: string) => basename(id).replace(/\.(gguf|onnx|bin|safetensors)$/i, '');
    const named = this.models.find((model) => model.id === name || model.root === name || stem(model.id) === name);
    if (named || !main) return named;
    if (this.models.length === 1) return this.models[0];
    throw new RemoteEngineError(
      'engine_server_protocol',
      `the engine server at ${this.connection.url} serves ${this.ids()}, none named like engine.model's folder "${name}": set engine.servedModel`,
    );
  }

  private ids(): string {
    return this.models.map((model) => model.id).join(', ');
  }

  /**
   * The remote engine for the model folder `path` when the server serves it (always for the bot's
   * own model, `main`); undefined when it does not, so the caller runs it locally.
   */
  engineFor(path: string, main: boolean): Promise<RemoteDialogueEngine> | undefined {
    const card = this.cardFor(path, main);
    if (!card) return undefined;
    const key = `${card.id}\n${path}`;
    let engine = this.engines.get(key);
    if (!engine) {
      engine = this.open(path, card);
      engine.catch(() => this.engines.delete(key));
      this.engines.set(key, engine);
    }
    return engine;
  }

  private async open(path: string, card: ModelCard): Promise<RemoteDialogueEngine> {
    const text = loadModelText(await readModelDescription(path));
    const { features, gaps } = await probeServer(this.connection, card.id, card.owned_by ?? 'unknown', text.tokenizer);
    const dtype = MODEL_DTYPES.includes(card.banter?.dtype as ModelDtype) ? (card.banter!.dtype as ModelDtype) : 'unknown';
    const engine = new RemoteDialogueEngine(text, this.connection, card.id, features, gaps, dtype);
    const logger = this.options.logger;
    if (card.max_model_len !== undefined && card.max_model_len !== text.info.contextWindow) {
      logger?.warn({ model: card.id, server: card.max_model_len, folder: text.info.contextWindow }, "the server's context window differs from engine.model's config.json; prompts are fitted to the folder's");
    }
    logger?.info({ model: card.id, folder: path, server: this.connection.url, by: features.server }, 'engine on the engine server');
    for (const gap of gaps) logger?.warn({ model: card.id, server: this.connection.url, feature: gap.feature, problem: gap.problem }, `engine server lacks ${gap.feature}: ${gap.effect}`);
    return engine;
  }
}

/** Fails when `engine` lacks a feature its caller (a plugin, beam decoding) needs, naming both. */
export function requireFeatures(engine: DialogueEngine, requires: readonly EngineFeature[] | undefined, who: string): void {
  for (const feature of requires ?? []) {
    const why = engine.missing?.get(feature);
    if (why !== undefined) throw new EngineFeatureError(feature, who, why);
  }
}

const FEATURE_NAMES: Record<EngineFeature, string> = {
  score: 'log-probability scoring (echo + logprobs)',
  beam: 'beam search',
};

export class EngineFeatureError extends BanterError {
  constructor(
    readonly feature: EngineFeature,
    who: string,
    why: string,
  ) {
    super(
      'engine_feature_missing',
      `${who} needs ${FEATURE_NAMES[feature]}, which the engine server lacks: ${why}. Serve this model with \`banter engine serve\` (or a server that has it), or take it off the server so it runs in this process`,
    );
  }
}
