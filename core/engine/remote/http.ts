/**
 * JSON over HTTP to an OpenAI-compatible engine server. Engine calls have no side effects, so a
 * call whose connection failed (the server is restarting, a reset keep-alive socket) or that got
 * 502/503/504 is sent again, with growing pauses, for up to `retryForMs`; past that, or on any
 * other error, it fails with a RemoteEngineError the bot answers with its apology. The API key
 * goes only into the Authorization header, never into a message or a log line.
 */
import { BanterError } from '../../errors.js';
import type { Logger } from '../../log.js';

export type RemoteEngineErrorCode =
  | 'engine_server_unreachable'
  | 'engine_server_auth'
  | 'engine_server_rejected'
  | 'engine_server_failed'
  | 'engine_server_timeout'
  | 'engine_server_protocol'
  | 'engine_server_unsupported';

export class RemoteEngineError extends BanterError {
  declare readonly code: RemoteEngineErrorCode;

  constructor(
    code: RemoteEngineErrorCode,
    message: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface ConnectionOptions {
  /** Base URL of the API, e.g. `http://gpu-box:8000/v1`. */
  url: string;
  apiKey?: string;
  /** Longest wait for one answer (a generation included). */
  timeoutMs: number;
  /** How long calls keep being re-sent while the server is unreachable or overloaded. */
  retryForMs: number;
  logger?: Logger;
}

export interface Answer<T> {
  body: T;
  /** The server's own processing time (`openai-processing-ms`), when it says. */
  processingMs?: number;
}

const TRANSIENT_STATUS = new Set([429, 502, 503, 504]);
const FIRST_PAUSE_MS = 100;
const LONGEST_PAUSE_MS = 2_000;

/** What went wrong on the wire: the system error code under fetch's "fetch failed". */
function networkCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const cause = (error as { cause?: unknown }).cause;
  if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string') return cause.code;
  if (cause instanceof Error) return cause.message;
  return error.name === 'TypeError' ? 'network error' : undefined;
}

/** The server's words from an error body: OpenAI's `error.message`, TGI's `error`, or the raw text. */
function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    if (typeof body.error === 'object' && typeof body.error?.message === 'string') return body.error.message;
    if (typeof body.error === 'string') return body.error;
    if (typeof body.message === 'string') return body.message;
    if (body.detail !== undefined) return JSON.stringify(body.detail);
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 300) || '(empty body)';
}

export class EngineServerConnection {
  /** The API's base (`.../v1`) and the server's root, where vLLM and llama.cpp put /tokenize and /health. */
  readonly base: string;
  readonly root: string;
  private outage = false;

  constructor(private readonly options: ConnectionOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new RemoteEngineError('engine_server_unreachable', `engine.url ${JSON.stringify(options.url)} is not a URL (write e.g. http://gpu-box:8000/v1)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new RemoteEngineError('engine_server_unreachable', `engine.url must be http:// or https:// (got ${parsed.protocol})`);
    }
    this.base = options.url.replace(/\/+$/, '');
    this.root = this.base.replace(/\/v1$/, '');
  }

  get url(): string {
    return this.base;
  }

  /** `POST base + path` (or root + path for paths on the server's root). */
  post<T>(path: string, body: unknown, options: { signal?: AbortSignal; at?: 'api' | 'root'; retry?: boolean } = {}): Promise<Answer<T>> {
    return this.call<T>('POST', `${options.at === 'root' ? this.root : this.base}${path}`, body, options.signal, options.retry ?? true);
  }

  get<T>(path: string, options: { at?: 'api' | 'root'; retry?: boolean } = {}): Promise<Answer<T>> {
    return this.call<T>('GET', `${options.at === 'root' ? this.root : this.base}${path}`, undefined, undefined, options.retry ?? true);
  }

  private async call<T>(method: string, url: string, body: unknown, signal: AbortSignal | undefined, retry: boolean): Promise<Answer<T>> {
    const started = Date.now();
    let pause = FIRST_PAUSE_MS;
    for (;;) {
      let failure: RemoteEngineError;
      try {
        const answer = await this.once<T>(method, url, body, signal);
        if (this.outage) {
          this.outage = false;
          this.options.logger?.info({ server: this.base }, 'engine server reachable again');
        }
        return answer;
      } catch (error) {
        if (!(error instanceof RemoteEngineError) || !retry || !isTransient(error) || signal?.aborted) throw error;
        failure = error;
      }
      const left = this.options.retryForMs - (Date.now() - started);
      if (left <= 0) {
        throw new RemoteEngineError(failure.code, `${failure.message} (retried for ${Math.round((Date.now() - started) / 1000)} s)`, failure.status, { cause: failure });
      }
      if (!this.outage) {
        this.outage = true;
        this.options.logger?.warn({ server: this.base, problem: failure.message }, `engine server unavailable; retrying for up to ${Math.round(this.options.retryForMs / 1000)} s`);
      }
      await sleep(Math.min(pause, left), signal);
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }

  private async once<T>(method: string, url: string, body: unknown, signal: AbortSignal | undefined): Promise<Answer<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const where = `${method} ${url}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (error) {
      throw this.transportError(error, where, timeout, signal);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.transportError(error, where, timeout, signal);
    }
    if (!response.ok) throw statusError(response.status, messageOf(text), where);
    const processing = Number(response.headers.get('openai-processing-ms'));
    try {
      return { body: JSON.parse(text) as T, processingMs: Number.isFinite(processing) && response.headers.has('openai-processing-ms') ? processing : undefined };
    } catch {
      throw new RemoteEngineError('engine_server_protocol', `${where} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`, response.status);
    }
  }

  private transportError(error: unknown, where: string, timeout: AbortSignal, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason ?? error;
    if (timeout.aborted) return new RemoteEngineError('engine_server_timeout', `${where} gave no answer within ${this.options.timeoutMs} ms (engine.timeoutMs)`, undefined, { cause: error });
    const code = networkCode(error);
    return new RemoteEngineError('engine_server_unreachable', `cannot reach the engine server (${where}): ${code ?? (error instanceof Error ? error.message : String(error))}`, undefined, { cause: error });
  }
}

function isTransient(error: RemoteEngineError): boolean {
  return error.code === 'engine_server_unreachable' || (error.status !== undefined && TRANSIENT_STATUS.has(error.status));
}

function statusError(status: number, message: string, where: string): RemoteEngineError {
  if (status === 401 || status === 403) {
    return new RemoteEngineError('engine_server_auth', `the engine server refused the request (${status}: ${message}); set engine.apiKey to the server's key (from an environment variable)`, status);
  }
  if (TRANSIENT_STATUS.has(status)) return new RemoteEngineError('engine_server_unreachable', `the engine server is unavailable (${where}: ${status} ${message})`, status);
  if (status < 500) return new RemoteEngineError('engine_server_rejected', `the engine server rejected ${where} (${status}): ${message}`, status);
  return new RemoteEngineError('engine_server_failed', `the engine server failed on ${where} (${status}): ${message}`, status);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
