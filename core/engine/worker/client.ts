/**
 * A DialogueEngine whose model runs in a worker thread (engine-worker.ts). The tokenizer and prompt
 * format stay on this thread (encoding and decoding text cost no hop); token ids, decoding options
 * and raw candidates cross. onnxruntime-node runs `session.run` synchronously on the calling thread,
 * so in this thread's event loop every forward pass would be a stall as long as the pass (tens to
 * hundreds of milliseconds for a batch of many turns): in the worker, adapters keep answering
 * heartbeats while the engine works.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BanterError } from '../../errors.js';
import { toGenerated } from '../decode.js';
import type { DecoderGraph } from '../decoder.js';
import { EngineInputError, type EngineDevice } from '../errors.js';
import { readModelFolder } from '../model-folder.js';
import { loadModelText, ModelTextEngine, type ModelText } from '../model-text.js';
import { DecodeAbortedError } from '../scheduler.js';
import { sumLogprobs } from '../score.js';
import type { DecodeOptions, EngineOptions, GeneratedCandidate, GenerateControl, ModelInfo, ScorePair, TokenScores } from '../types.js';
import type { FromWorker, SentError, ToWorker, WorkerData } from './protocol.js';

/** The engine worker stopped (it crashed, or the engine was disposed): its calls cannot be answered. */
export class EngineWorkerError extends BanterError {
  constructor(message: string) {
    super('engine_worker', message);
  }
}

/** An error the worker reported, with its class name and code (a load error: unsupported model, device). */
class WorkerReportedError extends BanterError {
  constructor(error: SentError) {
    super(error.code ?? 'engine', error.message);
    this.name = error.name;
  }
}

const WORKER_SCRIPT = new URL('./engine-worker.js', import.meta.url);

/**
 * Whether the compiled worker script is there: code run from its TypeScript sources (vitest) has
 * none beside it, and a worker thread cannot load TypeScript.
 */
export function engineWorkerAvailable(): boolean {
  return WORKER_SCRIPT.protocol === 'file:' && existsSync(fileURLToPath(WORKER_SCRIPT));
}

interface Pending {
  resolve: (value: FromWorker) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onToken?: GenerateControl['onToken'];
}

function received(error: SentError, signal?: AbortSignal): Error {
  if (error.name === 'DecodeAbortedError') return new DecodeAbortedError(signal?.reason);
  if (error.name === 'EngineInputError') return new EngineInputError(error.message);
  return new WorkerReportedError(error);
}

export class WorkerDialogueEngine extends ModelTextEngine {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped: EngineWorkerError | undefined;

  private constructor(
    text: Pick<ModelText, 'tokenizer' | 'prompt' | 'format'>,
    private readonly worker: Worker,
    readonly info: ModelInfo,
    readonly device: EngineDevice,
    readonly graph: DecoderGraph,
  ) {
    super(text);
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.stop(new EngineWorkerError(`the engine worker of ${info.path} failed: ${error.message}`)));
    worker.on('exit', (code) => this.stop(new EngineWorkerError(`the engine worker of ${info.path} stopped (exit code ${code})`)));
    // An idle engine does not keep the process alive; one with calls in flight does.
    worker.unref();
  }

  /** Reads the folder's text side here, then loads the model in a new worker. */
  static async load(modelDir: string, options: EngineOptions): Promise<WorkerDialogueEngine> {
    const folder = await readModelFolder(modelDir, { dtype: options.dtype, device: options.device === 'webgpu' || options.device === 'cuda' ? 'gpu' : 'cpu' });
    const text = loadModelText(folder);
    const { onProgress, thread: _thread, ...crossing } = options;
    const data: WorkerData = { modelDir, options: crossing };
    const worker = new Worker(WORKER_SCRIPT, { workerData: data });
    const ready = await new Promise<Extract<FromWorker, { type: 'ready' }>>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'progress') onProgress?.(message.message, message.fraction);
        else if (message.type === 'ready') done(() => resolve(message));
        else if (message.type === 'load-failed') done(() => reject(new WorkerReportedError(message.error)));
      };
      const onError = (error: Error) => done(() => reject(error));
      const onExit = (code: number) => done(() => reject(new EngineWorkerError(`the engine worker of ${modelDir} exited (code ${code}) before the model was loaded`)));
      const done = (settle: () => void) => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        settle();
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new WorkerDialogueEngine(text, worker, ready.info, ready.device, ready.graph);
  }

  async generate(prompt: number[], options: DecodeOptions, control: GenerateControl = {}): Promise<GeneratedCandidate[]> {
    const { signal, onToken } = control;
    if (signal?.aborted) throw new DecodeAbortedError(signal.reason);
    const answer = await this.call(
      (id) => ({ type: 'generate', id, prompt, options, streamTokens: onToken !== undefined }),
      { signal, onToken },
    );
    if (answer.type !== 'generated') throw new Error(`unexpected answer ${answer.type} of the engine worker`);
    return answer.candidates.map((candidate) => toGenerated(candidate, this.tokenizer));
  }

  async score(pairs: ScorePair[]): Promise<number[]> {
    return (await this.scoreTokens(pairs, 0)).map((scores) => sumLogprobs(scores.logprobs));
  }

  async scoreTokens(pairs: ScorePair[], top: number): Promise<TokenScores[]> {
    const answer = await this.call((id) => ({ type: 'score', id, pairs, top }), {});
    if (answer.type !== 'scored') throw new Error(`unexpected answer ${answer.type} of the engine worker`);
    return answer.scores;
  }

  async dispose(): Promise<void> {
    if (this.stopped) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'dispose' } satisfies ToWorker);
    this.worker.ref();
    await exited;
  }

  private call(message: (id: number) => ToWorker, entry: Omit<Pending, 'resolve' | 'reject'>): Promise<FromWorker> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise<FromWorker>((resolve, reject) => {
      const abort = () => this.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
      entry.signal?.addEventListener('abort', abort, { once: true });
      const settle = () => {
        entry.signal?.removeEventListener('abort', abort);
        this.pending.delete(id);
        if (this.pending.size === 0) this.worker.unref();
      };
      this.pending.set(id, {
        ...entry,
        resolve: (value) => {
          settle();
          resolve(value);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.worker.ref();
      this.worker.postMessage(message(id));
    });
  }

  private receive(message: FromWorker): void {
    if (!('id' in message)) return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'tokens') for (const token of message.tokens) pending.onToken?.(token);
    else if (message.type === 'failed') pending.reject(received(message.error, pending.signal));
    else pending.resolve(message);
  }

  private stop(error: EngineWorkerError): void {
    this.stopped ??= error;
    for (const pending of [...this.pending.values()]) pending.reject(this.stopped);
  }
}
