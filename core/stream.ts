/**
 * Streaming a one-candidate reply while it is written. Tokens arrive from the engine one by one;
 * each time the text completes a sentence, every plugin's `checkPartial` sees it (the safety
 * filter, sentence by sentence) before the adapter's ReplyStream shows it. A rejected sentence is
 * never shown: generation is aborted, the candidate is rejected with the plugin's reason, and the
 * turn goes on to selection, where the fallback replaces what was shown. Sentences are checked one
 * at a time, in order, while generation goes on.
 */
import { toGenerated } from './engine/decode.js';
import type { DecodeOptions, DialogueEngine, GeneratedCandidate, GeneratedToken } from './engine/types.js';
import type { Logger } from './log.js';
import type { Plugin, ReplyStream, Turn } from './types.js';

/** Whether decoding gives one candidate: only then is there a reply to show before selection. */
export function streamable(decoding: DecodeOptions): boolean {
  return decoding.strategy === 'greedy' || (decoding.strategy === 'sample' && Math.floor(decoding.numCandidates) <= 1);
}

/** A sentence ends at terminal punctuation (and closing quotes or brackets) followed by white space, or at a line break. */
const SENTENCE_END = /[.!?…]+["'”’)\]]*(?=\s)|\n/g;

/** Where each complete sentence of the text ends (a sentence still being written has no end yet). */
export function sentenceEnds(text: string): number[] {
  return [...text.matchAll(SENTENCE_END)].map((match) => match.index + match[0].length);
}

export interface StreamOutcome {
  candidate: GeneratedCandidate;
  /** Set when a plugin's checkPartial stopped the stream. */
  rejected?: { by: string; reason: string };
  /** Sentences that were shown. */
  shownSentences: number;
  shownText: string;
}

export class SentenceStream {
  private readonly abort = new AbortController();
  private readonly tokens: number[] = [];
  private readonly tokenLogprobs: number[] = [];
  /** The text up to the end of each complete sentence so far, in order; and what has been checked and shown. */
  private readonly sentences: string[] = [];
  private shown = '';
  private shownSentences = 0;
  private pumping?: Promise<void>;
  private rejected?: { by: string; reason: string };
  private failure?: unknown;
  private sinkBroken = false;

  constructor(
    private readonly turn: Turn,
    private readonly engine: DialogueEngine,
    private readonly plugins: readonly Plugin[],
    private readonly sink: ReplyStream,
    private readonly logger?: Logger,
    /** The turn's own abort (its deadline): it stops the stream and fails the run with the signal's reason. */
    private readonly turnSignal?: AbortSignal,
  ) {
    turnSignal?.addEventListener('abort', () => this.abort.abort(turnSignal.reason), { once: true });
  }

  async run(): Promise<StreamOutcome> {
    let generated: GeneratedCandidate | undefined;
    try {
      [generated] = await this.engine.generate(this.turn.promptTokens, this.turn.decoding, { signal: this.abort.signal, onToken: (token) => this.onToken(token) });
    } catch (error) {
      this.turnSignal?.throwIfAborted();
      // Our own abort (a rejected sentence, a failed check) is not the engine's failure.
      if (!this.abort.signal.aborted) throw error;
    }
    while (this.pumping) await this.pumping;
    if (this.failure !== undefined) throw this.failure;
    // Cut short: the candidate is what had been written by then.
    const candidate = generated ?? toGenerated(
        { tokens: [...this.tokens], logprob: this.tokenLogprobs.reduce((sum, value) => sum + value, 0), tokenLogprobs: [...this.tokenLogprobs], finished: false },
        this.engine.tokenizer,
      );
    return { candidate, rejected: this.rejected, shownSentences: this.shownSentences, shownText: this.shown };
  }

  private onToken(token: GeneratedToken): void {
    this.tokens.push(token.token);
    this.tokenLogprobs.push(token.logprob);
    if (this.abort.signal.aborted) return;
    const text = this.engine.tokenizer.decode(this.tokens).trimStart();
    const known = this.sentences.at(-1)?.length ?? 0;
    const ends = sentenceEnds(text).filter((end) => end > known);
    if (ends.length === 0) return;
    for (const end of ends) this.sentences.push(text.slice(0, end));
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = (async () => {
      while (!this.abort.signal.aborted && this.shownSentences < this.sentences.length) await this.check(this.sentences[this.shownSentences]);
    })().finally(() => {
      this.pumping = undefined;
      // A sentence that completed while the loop was ending gets its check.
      if (!this.abort.signal.aborted && this.shownSentences < this.sentences.length) this.pump();
    });
  }

  private async check(text: string): Promise<void> {
    const sentence = text.slice(this.shown.length).trim();
    try {
      for (const plugin of this.plugins) {
        const verdict = await plugin.checkPartial?.({ text: text.trimEnd(), sentence }, this.turn);
        if (verdict) {
          this.rejected = { by: plugin.name, reason: verdict.reason };
          this.abort.abort(new Error(`${plugin.name} rejected a sentence`));
          return;
        }
      }
    } catch (error) {
      this.failure = error;
      this.abort.abort(error);
      return;
    }
    // Stopped while the check ran (the turn's deadline passed): nothing more is shown.
    if (this.abort.signal.aborted) return;
    this.shown = text;
    this.shownSentences++;
    this.show(text.trimEnd());
  }

  /** The adapter's display must never take the turn down: a failing one is logged and not called again. */
  private show(text: string): void {
    if (this.sinkBroken) return;
    try {
      this.sink.update(text);
    } catch (error) {
      this.sinkBroken = true;
      this.logger?.error({ err: error, turn: this.turn.id }, 'the reply stream failed; the reply will still be delivered whole');
    }
  }
}
