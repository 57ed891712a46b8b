/**
 * The body of `POST /v1/completions`, checked and turned into banter's decoding options. Field names
 * are OpenAI's legacy completions API; where it has no field, vLLM's extension names are used
 * (`top_k`, `min_tokens`, `repetition_penalty`, `use_beam_search`, `length_penalty`,
 * `return_tokens_as_token_ids`), and Hugging Face's where neither has one (`no_repeat_ngram_size`).
 * Every problem is a RequestError naming the parameter, answered with status 400.
 */
import type { DecodeOptions } from '../engine/types.js';

/** An error the client made: HTTP status, OpenAI-style type, and the parameter at fault. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param?: string,
    readonly type = status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : 'invalid_request_error',
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** A prompt as the client gave it: text, or token ids. */
export type PromptInput = { text: string } | { tokens: number[] };

export interface CompletionParams {
  model?: string;
  prompts: PromptInput[];
  /** Choices per prompt. */
  n: number;
  /** New tokens per choice; 0 only with `echo` (the prompt's log-probabilities, nothing generated). */
  maxTokens: number;
  echo: boolean;
  /** null: no logprobs; k: each position's log-probability and its k most likely tokens. */
  logprobs: number | null;
  stop: string[];
  /** Extra stop ids the client asks for; only the model's own end tokens are honoured. */
  stopTokenIds: number[];
  returnTokenIds: boolean;
  /** Sampling without beam search: generate `bestOf` and return the `n` with the best mean log-probability. */
  bestOf: number;
  decode: DecodeOptions;
}

/** Limits that keep one request from taking the server: choices and prompts per request. */
export const LIMITS = { n: 128, prompts: 64, logprobs: 20, stop: 16 };

type Body = Record<string, unknown>;

function has(body: Body, key: string): boolean {
  return body[key] !== undefined && body[key] !== null;
}

function integer(body: Body, key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!has(body, key)) return fallback;
  const value = body[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RequestError(400, `${key} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`} (got ${JSON.stringify(value)})`, key);
  }
  return value;
}

function number(body: Body, key: string, fallback: number, valid: (value: number) => boolean, expected: string): number {
  if (!has(body, key)) return fallback;
  const value = body[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || !valid(value)) throw new RequestError(400, `${key} must be ${expected} (got ${JSON.stringify(value)})`, key);
  return value;
}

function boolean(body: Body, key: string): boolean {
  if (!has(body, key)) return false;
  if (typeof body[key] !== 'boolean') throw new RequestError(400, `${key} must be true or false (got ${JSON.stringify(body[key])})`, key);
  return body[key] as boolean;
}

const isTokenList = (value: unknown): value is number[] => Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'number');

/** `prompt`: a string, a list of strings, a list of token ids, or a list of token-id lists. */
function promptsOf(body: Body, vocabSize: number): PromptInput[] {
  const prompt = body.prompt;
  const expected = 'a string, a list of strings, a list of token ids or a list of token-id lists';
  let prompts: PromptInput[];
  if (typeof prompt === 'string') prompts = [{ text: prompt }];
  else if (isTokenList(prompt)) prompts = [{ tokens: prompt }];
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((item) => typeof item === 'string')) prompts = prompt.map((text: string) => ({ text }));
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isTokenList)) prompts = prompt.map((tokens: number[]) => ({ tokens }));
  else throw new RequestError(400, `prompt is required: ${expected}${prompt === undefined ? '' : ` (got ${describe(prompt)})`}`, 'prompt');
  if (prompts.length > LIMITS.prompts) throw new RequestError(400, `at most ${LIMITS.prompts} prompts per request (got ${prompts.length})`, 'prompt');
  for (const item of prompts) {
    if ('text' in item && item.text === '') throw new RequestError(400, 'prompt must not be empty', 'prompt');
    if ('tokens' in item) {
      const bad = item.tokens.find((token) => !Number.isInteger(token) || token < 0 || token >= vocabSize);
      if (bad !== undefined) throw new RequestError(400, `prompt token ${bad} is not a token id of this model (0 to ${vocabSize - 1})`, 'prompt');
    }
  }
  return prompts;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list of something else';
  return value === null ? 'null' : typeof value;
}

function stopsOf(body: Body): string[] {
  if (!has(body, 'stop')) return [];
  const stop = body.stop;
  const stops = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(stops) || !stops.every((item) => typeof item === 'string' && item.length > 0) || stops.length > LIMITS.stop) {
    throw new RequestError(400, `stop must be a non-empty string or a list of at most ${LIMITS.stop} non-empty strings`, 'stop');
  }
  return stops as string[];
}

/** Fields of the API that banter's engine has no equivalent for: refused rather than silently ignored. */
function refuseUnsupported(body: Body): void {
  if (body.stream === true) throw new RequestError(400, 'stream: true is not supported by banter engine serve; send stream: false (the whole completion comes in one response)', 'stream');
  for (const key of ['presence_penalty', 'frequency_penalty']) {
    if (has(body, key) && body[key] !== 0) throw new RequestError(400, `${key} is not supported by banter's engine; use repetition_penalty`, key);
  }
  if (has(body, 'logit_bias') && Object.keys(body.logit_bias as object).length > 0) throw new RequestError(400, 'logit_bias is not supported by banter\'s engine', 'logit_bias');
  if (has(body, 'suffix')) throw new RequestError(400, 'suffix (insertion) is not supported by banter\'s engine', 'suffix');
}

/** Checks a parsed request body against a model of `vocabSize` tokens. */
export function parseCompletionRequest(value: unknown, vocabSize: number): CompletionParams {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RequestError(400, 'the request body must be a JSON object');
  const body = value as Body;
  refuseUnsupported(body);
  if (has(body, 'model') && typeof body.model !== 'string') throw new RequestError(400, 'model must be a string', 'model');
  const prompts = promptsOf(body, vocabSize);
  const echo = boolean(body, 'echo');
  const maxTokens = integer(body, 'max_tokens', 16, 0);
  if (maxTokens === 0 && !echo) throw new RequestError(400, 'max_tokens: 0 generates nothing; it is only meaningful with echo: true and logprobs (scoring the prompt)', 'max_tokens');
  const n = integer(body, 'n', 1, 1, LIMITS.n);
  const beam = boolean(body, 'use_beam_search');
  const bestOf = integer(body, 'best_of', n, n, LIMITS.n);
  const temperature = number(body, 'temperature', 1, (v) => v >= 0, 'a number of at least 0');
  const topK = integer(body, 'top_k', 0, -1);
  const minTokens = integer(body, 'min_tokens', 0, 0);
  if (maxTokens > 0 && minTokens > maxTokens) throw new RequestError(400, `min_tokens (${minTokens}) must not exceed max_tokens (${maxTokens})`, 'min_tokens');
  const logprobs = has(body, 'logprobs') ? integer(body, 'logprobs', 0, 0, LIMITS.logprobs) : null;
  const seed = has(body, 'seed') ? integer(body, 'seed', 0, Number.MIN_SAFE_INTEGER) : undefined;
  const stopTokenIds = has(body, 'stop_token_ids') ? (body.stop_token_ids as unknown) : [];
  if (!Array.isArray(stopTokenIds) || !stopTokenIds.every((id) => Number.isInteger(id))) throw new RequestError(400, 'stop_token_ids must be a list of token ids', 'stop_token_ids');
  const decode: DecodeOptions = {
    // Temperature 0 is greedy decoding of every choice (the engine's rule), so n rows decode as they would locally.
    strategy: beam ? 'beam' : 'sample',
    numCandidates: beam ? n : bestOf,
    temperature,
    topK: topK === -1 ? 0 : topK,
    topP: number(body, 'top_p', 1, (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    repetitionPenalty: number(body, 'repetition_penalty', 1, (v) => v > 0, 'a positive number'),
    noRepeatNgramSize: integer(body, 'no_repeat_ngram_size', 0, 0),
    minNewTokens: minTokens,
    maxNewTokens: maxTokens,
    seed,
    beamWidth: beam ? bestOf : 1,
    lengthPenalty: number(body, 'length_penalty', 1, () => true, 'a number'),
    topLogprobs: logprobs ?? 0,
  };
  return {
    model: body.model as string | undefined,
    prompts,
    n,
    maxTokens,
    echo,
    logprobs,
    stop: stopsOf(body),
    stopTokenIds: stopTokenIds as number[],
    returnTokenIds: boolean(body, 'return_tokens_as_token_ids'),
    bestOf: beam ? n : bestOf,
    decode,
  };
}
