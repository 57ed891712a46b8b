/**
 * Continuous batching: the decode steps of every turn in flight run together in one forward pass
 * (each row with its own length, positions and mask), a turn joins the batch at the next step after
 * its prefill and leaves when its candidates finish. Prompts are prefilled in chunks of at most
 * `prefillChunk` tokens, one chunk between two decode steps, so a long prompt delays the turns
 * already decoding by one chunk at a time and never starves them; scoring requests that arrive
 * together run as one batched pass. Each job draws from its own random stream over its own rows,
 * so a turn decodes the same candidates alone or beside others.
 */
import { logNormOf, type Decoder, type Scores } from './decoder.js';
import type { DecodeJob, RawCandidate } from './decode.js';
import type { KvCache } from './kv-cache.js';
import { scoreTokens, sumLogprobs, type ScoreContext, type ScoreItem } from './score.js';
import type { ScorePair, TokenScores } from './types.js';

export interface SchedulerOptions {
  /** Rows (candidates of all turns) one decode step may hold; a turn that does not fit waits. */
  maxRows: number;
  /** Prompt tokens per prefill pass. */
  prefillChunk: number;
}

export const DEFAULT_SCHEDULER: SchedulerOptions = { maxRows: 64, prefillChunk: 256 };

/** Thrown into a job whose AbortSignal fired: its rows leave the batch at the next step. */
export class DecodeAbortedError extends Error {
  constructor(reason: unknown) {
    super(`decoding aborted: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`);
    this.name = 'DecodeAbortedError';
  }
}

interface Entry {
  job: DecodeJob;
  resolve: (candidates: RawCandidate[]) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  /** Prefill progress: prompt tokens run so far, into this cache. */
  prefilled: number;
  cache: KvCache | null;
  /** Once admitted: the batch rows that hold its rows, in the job's row order (anywhere in the batch). */
  rows: number[];
  /** What its last `advance` said: which of its rows continue, in order ([] when done). */
  plan: number[];
}

interface ScoreRequest {
  items: ScoreItem[];
  resolve: (scores: TokenScores[]) => void;
  reject: (error: unknown) => void;
}

export class DecodeScheduler {
  private readonly waiting: Entry[] = [];
  private readonly ready: Entry[] = [];
  private active: Entry[] = [];
  private batch: KvCache | null = null;
  private scoring: ScoreRequest[] = [];
  private running = false;

  constructor(
    private readonly decoder: Decoder,
    private readonly scoreContext: ScoreContext,
    private readonly options: SchedulerOptions = DEFAULT_SCHEDULER,
  ) {}

  /** Rows in the current decode batch (for tests and metrics). */
  get rowsInFlight(): number {
    return this.batch?.batch ?? 0;
  }

  run(job: DecodeJob, signal?: AbortSignal): Promise<RawCandidate[]> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new DecodeAbortedError(signal.reason));
      this.waiting.push({ job, resolve, reject, signal, prefilled: 0, cache: null, rows: [], plan: [] });
      this.wake();
    });
  }

  async score(pairs: ScorePair[]): Promise<number[]> {
    const scores = await this.scoreTokens(pairs, 0);
    return scores.map((pair) => sumLogprobs(pair.logprobs));
  }

  /** Each continuation token's log-probability, and its `top` most likely tokens (0: none). */
  scoreTokens(pairs: ScorePair[], top: number): Promise<TokenScores[]> {
    return new Promise((resolve, reject) => {
      this.scoring.push({ items: pairs.map((pair) => ({ pair, top })), resolve, reject });
      this.wake();
    });
  }

  private wake(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.hasWork()) this.wake();
    });
  }

  private hasWork(): boolean {
    return this.scoring.length > 0 || this.waiting.length > 0 || this.ready.length > 0 || this.active.length > 0;
  }

  private async loop(): Promise<void> {
    while (this.hasWork()) {
      this.dropAborted();
      if (this.scoring.length > 0) await this.scoreAll();
      if (this.waiting.length > 0) await this.prefillChunk();
      this.admit();
      if (this.active.length > 0) await this.step();
      // Let adapters and timers run between passes even when every await resolved at once.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private async scoreAll(): Promise<void> {
    const requests = this.scoring;
    this.scoring = [];
    try {
      const scores = await scoreTokens(this.scoreContext, requests.flatMap((request) => request.items));
      let offset = 0;
      for (const request of requests) {
        request.resolve(scores.slice(offset, offset + request.items.length));
        offset += request.items.length;
      }
    } catch (error) {
      // One bad request (a pair too long for the window) must not fail the others: retry them apart.
      if (requests.length === 1) requests[0].reject(error);
      else for (const request of requests) await scoreTokens(this.scoreContext, request.items).then(request.resolve, request.reject);
    }
  }

  /** One chunk of the oldest waiting prompt; a finished prefill hands the job its first logits. */
  private async prefillChunk(): Promise<void> {
    const entry = this.waiting[0];
    const { prompt, reserve } = entry.job;
    const chunk = prompt.slice(entry.prefilled, entry.prefilled + this.options.prefillChunk);
    let scores: Scores;
    try {
      const out = await this.decoder.forward(entry.cache, [chunk], reserve);
      entry.cache = out.cache;
      scores = out.scores;
    } catch (error) {
      this.waiting.shift();
      this.fail(entry, error);
      return;
    }
    entry.prefilled += chunk.length;
    if (entry.prefilled < prompt.length) return;
    this.waiting.shift();
    const vocab = this.decoder.shape.vocabSize;
    const last = scores.logits.subarray((chunk.length - 1) * vocab, chunk.length * vocab);
    this.advance(entry, [last], [logNormOf(scores, chunk.length - 1, last)]);
    if (entry.plan.length > 0) this.ready.push(entry);
  }

  /** Ready turns join the batch, oldest first, while their rows fit (one always joins an empty batch). */
  private admit(): void {
    while (this.ready.length > 0) {
      const entry = this.ready[0];
      const rows = this.batch?.batch ?? 0;
      if (rows > 0 && rows + entry.plan.length > this.options.maxRows) break;
      this.ready.shift();
      entry.rows = entry.plan.map((_, i) => rows + i);
      this.batch = this.decoder.appendRows(this.batch, entry.cache!, entry.plan, this.options.maxRows);
      entry.cache = null;
      this.active.push(entry);
    }
  }

  /** One decode step over every active turn's rows. */
  private async step(): Promise<void> {
    const tokens: number[][] = new Array(this.batch!.batch);
    for (const entry of this.active) entry.job.nextTokens().forEach((token, i) => (tokens[entry.rows[i]] = [token]));
    let scores: Scores;
    try {
      const out = await this.decoder.forward(this.batch!, tokens);
      this.batch = out.cache;
      scores = out.scores;
    } catch (error) {
      // The batch's cache is lost with the pass: every turn in it fails (adapters apologise).
      const failed = this.active;
      this.active = [];
      this.batch = null;
      for (const entry of failed) this.fail(entry, error);
      return;
    }
    const vocab = this.decoder.shape.vocabSize;
    for (const entry of this.active) {
      const rows = entry.rows.map((index) => scores.logits.subarray(index * vocab, (index + 1) * vocab));
      this.advance(
        entry,
        rows,
        rows.map((row, i) => logNormOf(scores, entry.rows[i], row)),
      );
    }
    this.active = this.active.filter((entry) => entry.plan.length > 0);
    this.relocate((entry) => entry.plan.map((row) => entry.rows[row]));
  }

  /**
   * Keeps, of each active turn, the batch rows `wanted` gives (in its new row order) and packs them
   * into the first rows of the batch. A row already inside the new batch stays where it is, so a
   * finished candidate costs one row copy (a row from the end fills its place), not a shift of
   * every row after it.
   */
  private relocate(wanted: (entry: Entry) => number[]): void {
    const sources = this.active.map(wanted);
    const size = sources.reduce((sum, rows) => sum + rows.length, 0);
    const keep = new Array<number>(size).fill(-1);
    const placed = sources.map((rows) =>
      rows.map((row) => {
        if (row >= size || keep[row] >= 0) return -1;
        keep[row] = row;
        return row;
      }),
    );
    let free = 0;
    sources.forEach((rows, e) =>
      rows.forEach((row, i) => {
        if (placed[e][i] >= 0) return;
        while (keep[free] >= 0) free++;
        keep[free] = row;
        placed[e][i] = free;
      }),
    );
    this.active.forEach((entry, e) => (entry.rows = placed[e]));
    this.compact(keep);
  }

  /** Gives `entry` its logits; an error or an empty plan ends it. */
  private advance(entry: Entry, rows: Float32Array[], norms: number[]): void {
    try {
      entry.plan = entry.job.advance(rows, norms);
    } catch (error) {
      this.fail(entry, error);
      return;
    }
    if (entry.plan.length === 0) {
      if (entry.cache) this.decoder.dispose(entry.cache);
      entry.cache = null;
      entry.resolve(entry.job.result());
    }
  }

  /** Keeps `rows` of the batch in that order; an empty batch is released. */
  private compact(rows: number[]): void {
    if (!this.batch) return;
    if (rows.length === 0) {
      this.decoder.dispose(this.batch);
      this.batch = null;
      return;
    }
    this.batch = this.decoder.selectRows(this.batch, rows);
  }

  private dropAborted(): void {
    const aborted = (entry: Entry) => entry.signal?.aborted === true;
    for (const list of [this.waiting, this.ready]) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (!aborted(list[i])) continue;
        const [entry] = list.splice(i, 1);
        if (entry.cache) this.decoder.dispose(entry.cache);
        entry.reject(new DecodeAbortedError(entry.signal!.reason));
      }
    }
    if (!this.active.some(aborted)) return;
    for (const entry of this.active) if (aborted(entry)) entry.reject(new DecodeAbortedError(entry.signal!.reason));
    this.active = this.active.filter((entry) => !aborted(entry));
    this.relocate((entry) => entry.rows);
  }

  private fail(entry: Entry, error: unknown): void {
    if (entry.cache) this.decoder.dispose(entry.cache);
    entry.cache = null;
    entry.plan = [];
    entry.reject(error);
  }
}
