/** `banter engine serve`: loads model folders into engines and serves them over the OpenAI-compatible API. */
import { basename, resolve } from 'node:path';
import { loadEngine, type LoadedDialogueEngine } from '../engine/engine.js';
import type { DtypeChoice } from '../engine/model-folder.js';
import type { EngineOptions } from '../engine/types.js';
import type { Logger } from '../log.js';
import { createEngineServer, type EngineServer } from './server.js';

export { createEngineServer, DEFAULT_MAX_BODY_BYTES, type EngineServer, type EngineServerOptions } from './server.js';

export interface ServeOptions {
  /** Model folders, each `FOLDER` (served as its folder name) or `NAME=FOLDER`. */
  models: string[];
  device: EngineOptions['device'];
  fallback?: EngineOptions['fallback'];
  dtype?: DtypeChoice;
  intraOpThreads?: number;
  maxBatchRows?: number;
  prefillChunk?: number;
  host: string;
  port: number;
  apiKey?: string;
  maxBodyBytes?: number;
  logger: Logger;
  onProgress?: (message: string, fraction?: number) => void;
}

export interface RunningEngineServer {
  /** The API's base URL (`http://host:port/v1`). */
  url: string;
  server: EngineServer;
  engines: ReadonlyMap<string, LoadedDialogueEngine>;
  /** Drains (see EngineServer.close), then releases the engines. */
  stop(graceMs: number): Promise<void>;
}

/** `NAME=FOLDER` or `FOLDER` (named after the folder). */
export function parseModelSpec(spec: string): { name: string; folder: string } {
  const equals = spec.indexOf('=');
  const [name, folder] = equals > 0 ? [spec.slice(0, equals), spec.slice(equals + 1)] : [basename(resolve(spec)), spec];
  return { name, folder: resolve(folder) };
}

export async function startEngineServer(options: ServeOptions): Promise<RunningEngineServer> {
  const engines = new Map<string, LoadedDialogueEngine>();
  try {
    for (const spec of options.models) {
      const { name, folder } = parseModelSpec(spec);
      if (engines.has(name)) throw new Error(`two models are served as "${name}": name one of them (--model NAME=FOLDER)`);
      const engine = await loadEngine(folder, {
        device: options.device,
        fallback: options.fallback,
        dtype: options.dtype,
        intraOpThreads: options.intraOpThreads,
        maxBatchRows: options.maxBatchRows,
        prefillChunk: options.prefillChunk,
        onProgress: options.onProgress && ((message, fraction) => options.onProgress!(`${name}: ${message}`, fraction)),
      });
      engines.set(name, engine);
    }
  } catch (error) {
    for (const engine of engines.values()) await engine.dispose();
    throw error;
  }
  const server = createEngineServer({ engines, apiKey: options.apiKey, maxBodyBytes: options.maxBodyBytes, logger: options.logger });
  let url: string;
  try {
    url = await server.listen(options.port, options.host);
  } catch (error) {
    for (const engine of engines.values()) await engine.dispose();
    throw error;
  }
  return {
    url,
    server,
    engines,
    async stop(graceMs) {
      await server.close(graceMs);
      for (const engine of engines.values()) await engine.dispose();
    },
  };
}
