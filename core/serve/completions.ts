/**
 * One `POST /v1/completions` on a loaded engine: each prompt's candidates come from one
 * `generate` (one prefill, N candidates), and with `echo` + `logprobs` the prompt's own token
 * log-probabilities from `scoreTokens`. Every prompt's work goes to the engine at once, so
 * prompts of one request and requests of many clients batch together in its scheduler.
 */
import { randomUUID } from 'node:crypto';
import type { LoadedDialogueEngine } from '../engine/engine.js';
import type { GeneratedCandidate, TokenLogprob } from '../engine/types.js';
import { RequestError, type CompletionParams, type PromptInput } from './params.js';

/** OpenAI's legacy logprobs object of one choice. */
export interface ChoiceLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: ChoiceLogprobs | null;
  finish_reason: 'stop' | 'length';
}

export interface CompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** A stretch of tokens with their log-probabilities, as one choice reports them. */
interface Scored {
  tokens: number[];
  logprobs: (number | null)[];
  top: (TokenLogprob[] | null)[];
}

export async function runCompletion(engine: LoadedDialogueEngine, model: string, params: CompletionParams, signal: AbortSignal): Promise<CompletionResponse> {
  const endTokens = new Set(engine.info.endTokens);
  const unknownStop = params.stopTokenIds.find((id) => !endTokens.has(id));
  if (unknownStop !== undefined) {
    throw new RequestError(400, `stop_token_ids: banter stops only at the model's end tokens (${engine.info.endTokens.join(', ')}); ${unknownStop} is not one`, 'stop_token_ids');
  }
  const prompts = params.prompts.map((prompt) => tokensOf(engine, prompt));
  const [generations, echoes] = await Promise.all([Promise.all(prompts.map((tokens) => generated(engine, tokens, params, signal))), echoed(engine, prompts, params)]);
  const choices: CompletionChoice[] = [];
  let completionTokens = 0;
  generations.forEach((candidates, p) => {
    candidates.forEach((candidate, j) => {
      const choice = choiceOf(engine, params, prompts[p], echoes?.[p], candidate);
      completionTokens += candidate?.tokens.length ?? 0;
      choices.push({ index: p * params.n + j, ...choice });
    });
  });
  const promptTokens = prompts.reduce((sum, tokens) => sum + tokens.length, 0);
  return {
    id: `cmpl-${randomUUID()}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices,
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** Text prompts are read as markup (`<|endoftext|>` is the end token), as other servers read them: a client's prompt is model input. */
function tokensOf(engine: LoadedDialogueEngine, prompt: PromptInput): number[] {
  const tokens = 'tokens' in prompt ? prompt.tokens : engine.tokenizer.encodeMarkup(prompt.text);
  const room = engine.info.contextWindow;
  if (tokens.length > room) throw new RequestError(400, `the prompt has ${tokens.length} tokens; the model's context window is ${room}`, 'prompt');
  return tokens;
}

/**
 * The `n` choices of one prompt: `best_of` keeps the n with the best mean log-probability, and
 * `max_tokens: 0` generates nothing (undefined stands for the empty completion).
 */
async function generated(engine: LoadedDialogueEngine, prompt: number[], params: CompletionParams, signal: AbortSignal): Promise<(GeneratedCandidate | undefined)[]> {
  if (params.maxTokens === 0) return Array.from({ length: params.n }, () => undefined);
  let candidates = await engine.generate(prompt, params.decode, { signal });
  if (params.decode.strategy === 'sample' && params.bestOf > params.n) {
    candidates = [...candidates].sort((a, b) => b.avgLogprob - a.avgLogprob).slice(0, params.n);
  }
  return candidates;
}

/**
 * Each prompt's own log-probabilities when echo and logprobs ask for them (the first token has
 * none), in ONE scoring call: the prompts of a request are scored as one batch, as the local
 * engine scores the pairs of one `score` call.
 */
async function echoed(engine: LoadedDialogueEngine, prompts: number[][], params: CompletionParams): Promise<Scored[] | undefined> {
  if (!params.echo || params.logprobs === null) return undefined;
  const pairs = prompts.map((prompt) => ({ context: prompt.slice(0, 1), continuation: prompt.slice(1) }));
  const scores = await engine.scoreTokens(pairs, params.logprobs);
  return prompts.map((prompt, i) => ({
    tokens: prompt,
    logprobs: [null, ...scores[i].logprobs],
    top: [null, ...(scores[i].top ?? scores[i].logprobs.map(() => []))],
  }));
}

function choiceOf(
  engine: LoadedDialogueEngine,
  params: CompletionParams,
  promptTokens: number[],
  promptScores: Scored | undefined,
  candidate: GeneratedCandidate | undefined,
): Omit<CompletionChoice, 'index'> {
  const promptText = params.echo ? engine.tokenizer.decode(promptTokens, { keepSpecial: true }) : '';
  const cut = candidate ? cutAtStop(engine, candidate, params.stop) : { text: '', finishReason: 'length' as const, ...unscored([]) };
  const text = promptText + cut.text;
  if (params.logprobs === null) return { text, logprobs: null, finish_reason: cut.finishReason };
  const echoedPart = params.echo ? (promptScores ?? unscored(promptTokens)) : unscored([]);
  const logprobs = concat(logprobsOf(engine, params, echoedPart, true, 0), logprobsOf(engine, params, cut, false, promptText.length));
  return { text, logprobs, finish_reason: cut.finishReason };
}

/** Tokens without log-probabilities (an echoed prompt when no logprobs were computed for it). */
function unscored(tokens: number[]): Scored {
  return { tokens, logprobs: tokens.map(() => null), top: tokens.map(() => null) };
}

function concat(a: ChoiceLogprobs, b: ChoiceLogprobs): ChoiceLogprobs {
  return {
    tokens: [...a.tokens, ...b.tokens],
    token_logprobs: [...a.token_logprobs, ...b.token_logprobs],
    top_logprobs: [...a.top_logprobs, ...b.top_logprobs],
    text_offset: [...a.text_offset, ...b.text_offset],
  };
}

/**
 * A candidate's text and tokens, cut at the first stop string: the text ends before it, the tokens
 * end with the one that completed it. A candidate that finished reports its end token last, with
 * its log-probability (the text never shows it).
 */
function cutAtStop(engine: LoadedDialogueEngine, candidate: GeneratedCandidate, stops: string[]): Scored & { text: string; finishReason: 'stop' | 'length' } {
  const { tokenizer } = engine;
  const full = tokenizer.decode(candidate.tokens);
  const top = candidate.topLogprobs ?? candidate.tokenLogprobs.map(() => []);
  const stopAt = (text: string) => Math.min(...stops.map((stop) => text.indexOf(stop)).filter((index) => index >= 0));
  const at = stopAt(full);
  if (Number.isFinite(at)) {
    let count = 1;
    while (count < candidate.tokens.length && !Number.isFinite(stopAt(tokenizer.decode(candidate.tokens.slice(0, count))))) count++;
    return { text: full.slice(0, at), tokens: candidate.tokens.slice(0, count), logprobs: candidate.tokenLogprobs.slice(0, count), top: top.slice(0, count), finishReason: 'stop' };
  }
  const end = candidate.endToken === undefined ? [] : [candidate.endToken];
  return { text: full, tokens: [...candidate.tokens, ...end], logprobs: candidate.tokenLogprobs, top, finishReason: candidate.finished ? 'stop' : 'length' };
}

/** Each engine's token texts, as decoded alone (with and without special tokens): a vocabulary is bounded, and decoding is not free. */
const pieces = new WeakMap<LoadedDialogueEngine, Map<number, string>[]>();

function pieceOf(engine: LoadedDialogueEngine, token: number, keepSpecial: boolean): string {
  let cache = pieces.get(engine);
  if (!cache) pieces.set(engine, (cache = [new Map(), new Map()]));
  const map = cache[keepSpecial ? 1 : 0];
  let text = map.get(token);
  if (text === undefined) map.set(token, (text = engine.tokenizer.decode([token], { keepSpecial })));
  return text;
}

/** OpenAI's logprobs of `scored`, whose text starts at `start` in the choice's text (decoded with or without special tokens). */
function logprobsOf(engine: LoadedDialogueEngine, params: CompletionParams, scored: Scored, keepSpecial: boolean, start: number): ChoiceLogprobs {
  const name = (token: number) => (params.returnTokenIds ? `token_id:${token}` : pieceOf(engine, token, true));
  const tokens = scored.tokens.map(name);
  const offsets: number[] = [];
  let offset = start;
  for (const token of scored.tokens) {
    offsets.push(offset);
    offset += pieceOf(engine, token, keepSpecial).length;
  }
  const top = scored.top.map((alternatives, i) => {
    if (alternatives === null) return null;
    const entries: Record<string, number> = {};
    for (const [token, logprob] of alternatives) entries[name(token)] = logprob;
    // As in vLLM: the chosen token is always among them (logprobs: 0 gives only it).
    entries[tokens[i]] ??= scored.logprobs[i]!;
    return entries;
  });
  return { tokens, token_logprobs: scored.logprobs, top_logprobs: top, text_offset: offsets };
}
