/**
 * `banter engine serve`'s HTTP server (node:http): an OpenAI-compatible completions API over
 * banter's engines, in the shape vLLM serves it — `POST /v1/completions`, `GET /v1/models`,
 * `POST /tokenize`, `POST /detokenize`, `GET /health`. A bearer token guards everything but
 * /health; bodies are bounded; a client that disconnects aborts its generation; `close()` drains.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { LoadedDialogueEngine } from '../engine/engine.js';
import { EngineInputError } from '../engine/errors.js';
import { DecodeAbortedError } from '../engine/scheduler.js';
import type { Logger } from '../log.js';
import { runCompletion } from './completions.js';
import { parseCompletionRequest, RequestError } from './params.js';

export interface EngineServerOptions {
  /** Served model id -> its loaded engine. */
  engines: ReadonlyMap<string, LoadedDialogueEngine>;
  /** Bearer token clients must send; undefined: no auth (loopback use). */
  apiKey?: string;
  /** Largest request body accepted (413 above it). */
  maxBodyBytes?: number;
  /** Requests in progress at once; more get 503 with Retry-After, so a flood cannot exhaust memory. */
  maxInFlight?: number;
  logger: Logger;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_IN_FLIGHT = 256;

export interface EngineServer {
  /** Listens; resolves with the base URL of the API (`http://host:port/v1`). */
  listen(port: number, host: string): Promise<string>;
  /** Stops taking requests (new ones get 503), waits up to `graceMs` for those in progress, then aborts them. */
  close(graceMs: number): Promise<void>;
  /** Requests being answered now. */
  readonly inFlight: number;
}

/** Constant-time comparison of the sent and the expected token (hashed first, so lengths never leak). */
function sameSecret(sent: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(sent), digest(expected));
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return reject(new RequestError(413, `the request body is ${declared} bytes; this server takes at most ${limit}`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new RequestError(413, `the request body is over ${limit} bytes, the most this server takes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

function sendError(res: ServerResponse, error: RequestError, headers?: Record<string, string>): void {
  send(res, error.status, { error: { message: error.message, type: error.type, param: error.param ?? null, code: error.status } }, headers);
}

export function createEngineServer(options: EngineServerOptions): EngineServer {
  const { engines, apiKey, logger } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const controllers = new Set<AbortController>();
  let draining = false;
  let server: Server | undefined;
  let idle: (() => void) | undefined;

  function engineFor(model: unknown): [string, LoadedDialogueEngine] {
    if (model === undefined || model === null) {
      if (engines.size === 1) return [...engines][0];
      throw new RequestError(400, `model is required: this server serves ${[...engines.keys()].join(', ')}`, 'model');
    }
    const engine = typeof model === 'string' ? engines.get(model) : undefined;
    if (!engine) throw new RequestError(404, `the model ${JSON.stringify(model)} does not exist here; this server serves ${[...engines.keys()].join(', ')}`, 'model');
    return [model as string, engine];
  }

  async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const text = await readBody(req, maxBody);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new RequestError(400, `the request body is not valid JSON: ${(error as Error).message}`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError(400, 'the request body must be a JSON object');
    return body as Record<string, unknown>;
  }

  const routes: Record<string, { method: 'GET' | 'POST'; auth: boolean; handle: (req: IncomingMessage, res: ServerResponse, signal: AbortSignal) => Promise<void> }> = {
    '/health': {
      method: 'GET',
      auth: false,
      handle: async (_req, res) => send(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok', in_flight: controllers.size }),
    },
    '/v1/models': {
      method: 'GET',
      auth: true,
      handle: async (_req, res) =>
        send(res, 200, {
          object: 'list',
          data: [...engines].map(([id, engine]) => ({
            id,
            object: 'model',
            created: Math.floor(Date.now() / 1000),
            owned_by: 'banter',
            root: engine.info.name,
            max_model_len: engine.info.contextWindow,
            banter: { model_type: engine.info.modelType, dtype: engine.info.dtype, device: engine.device, graph: engine.graph, vocab_size: engine.info.vocabSize, end_tokens: engine.info.endTokens },
          })),
        }),
    },
    '/v1/completions': {
      method: 'POST',
      auth: true,
      handle: async (req, res, signal) => {
        const body = await jsonBody(req);
        const [model, engine] = engineFor(body.model);
        const params = parseCompletionRequest(body, engine.info.vocabSize);
        const started = performance.now();
        const response = await runCompletion(engine, model, params, signal);
        // OpenAI's header: the time the engine took, so a client can tell its network hop apart.
        send(res, 200, response, { 'openai-processing-ms': (performance.now() - started).toFixed(2) });
      },
    },
    '/tokenize': {
      method: 'POST',
      auth: true,
      handle: async (req, res) => {
        const body = await jsonBody(req);
        const [, engine] = engineFor(body.model);
        if (typeof body.prompt !== 'string') throw new RequestError(400, 'prompt must be a string', 'prompt');
        const tokens = engine.tokenizer.encodeMarkup(body.prompt);
        send(res, 200, { tokens, count: tokens.length, max_model_len: engine.info.contextWindow });
      },
    },
    '/detokenize': {
      method: 'POST',
      auth: true,
      handle: async (req, res) => {
        const body = await jsonBody(req);
        const [, engine] = engineFor(body.model);
        const tokens = body.tokens;
        if (!Array.isArray(tokens) || !tokens.every((t) => Number.isInteger(t) && t >= 0 && t < engine.info.vocabSize)) {
          throw new RequestError(400, `tokens must be a list of token ids of this model (0 to ${engine.info.vocabSize - 1})`, 'tokens');
        }
        send(res, 200, { prompt: engine.tokenizer.decode(tokens as number[], { keepSpecial: true }) });
      },
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://engine').pathname.replace(/\/+$/, '') || '/';
    const route = routes[path];
    if (!route) throw new RequestError(404, `no such endpoint: ${req.method} ${path} (this server has ${Object.keys(routes).join(', ')})`);
    if (req.method !== route.method) throw new RequestError(405, `${path} takes ${route.method}, not ${req.method}`);
    if (route.auth && apiKey !== undefined) {
      const header = req.headers.authorization ?? '';
      const sent = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
      if (!sent || !sameSecret(sent, apiKey)) throw new RequestError(401, 'missing or wrong API key: send the header "Authorization: Bearer <key>"');
    }
    if (path === '/health') return route.handle(req, res, new AbortController().signal);
    if (draining) throw new RequestError(503, 'the engine server is shutting down');
    if (controllers.size >= maxInFlight) throw new RequestError(503, `the engine server is at its limit of ${maxInFlight} requests in progress; retry shortly`);
    const controller = new AbortController();
    controllers.add(controller);
    // A client that goes away before its answer frees the engine at its next step.
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new Error('the client disconnected'));
    };
    res.on('close', onClose);
    try {
      await route.handle(req, res, controller.signal);
    } finally {
      res.off('close', onClose);
      controllers.delete(controller);
      if (controllers.size === 0) idle?.();
    }
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    handle(req, res).then(
      () => logger.debug({ method: req.method, path: req.url, status: res.statusCode, ms: performance.now() - started }, 'request'),
      (error: unknown) => {
        if (error instanceof DecodeAbortedError && !draining) {
          logger.info({ path: req.url }, 'client disconnected: its generation was aborted');
          return;
        }
        if (error instanceof DecodeAbortedError) {
          sendError(res, new RequestError(503, 'the engine server shut down before this completion finished; retry', undefined, 'server_error'), { 'retry-after': '1', connection: 'close' });
        } else if (error instanceof RequestError) {
          sendError(res, error, error.status === 503 ? { 'retry-after': '1', ...(draining ? { connection: 'close' } : {}) } : undefined);
        } else if (error instanceof EngineInputError) {
          sendError(res, new RequestError(400, error.message, 'prompt'));
        } else {
          logger.error({ err: error, path: req.url }, 'request failed');
          sendError(res, new RequestError(500, `the engine failed: ${error instanceof Error ? error.message : String(error)}`, undefined, 'server_error'));
        }
        logger.debug({ method: req.method, path: req.url, status: res.statusCode }, 'request refused');
      },
    );
  }

  return {
    get inFlight() {
      return controllers.size;
    },
    listen(port, host) {
      server = createServer(onRequest);
      // Keep-alive longer than a client's idle pool timeout, so the client closes first (no reset races).
      server.keepAliveTimeout = 65_000;
      const listening = server;
      return new Promise((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => {
          const address = listening.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shown}:${address.port}/v1`);
        });
      });
    },
    async close(graceMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeIdleConnections();
      const drained = (ms: number) =>
        controllers.size === 0
          ? Promise.resolve(true)
          : Promise.race([new Promise<boolean>((resolve) => (idle = () => resolve(true))), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
      if (!(await drained(graceMs))) {
        logger.warn({ requests: controllers.size }, 'shutdown grace period over: aborting requests still in progress');
        for (const controller of controllers) controller.abort(new Error('the engine server is shutting down'));
        // Aborted generations leave the batch at the engine's next step and are answered 503.
        await drained(5_000);
      }
      server?.closeAllConnections();
      await closed;
    },
  };
}
