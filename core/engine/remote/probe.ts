/**
 * What an OpenAI-compatible server can do for one model, found out at start with small real
 * requests rather than guessed from its name: token-id prompts, n > 1 choices, seeds, per-token
 * logprobs with token ids, echo + logprobs scoring (with max_tokens 0 or 1, batched or not), beam
 * search, and whether its tokenizer is the local folder's. Each gap comes with what banter does
 * about it, for the start-up report.
 */
import type { TextTokenizer } from '../types.js';
import { RemoteEngineError, type EngineServerConnection } from './http.js';

export interface ServerFeatures {
  /** Who serves it (`owned_by` of the model card): banter, vllm, llamacpp, ... */
  server: string;
  tokenIdPrompts: boolean;
  /** Whether the server's /tokenize gave the local tokenizer's ids (undefined: it has no /tokenize). */
  sameTokenizer?: boolean;
  /** Several choices per request (`n`). */
  choices: boolean;
  seed: 'honoured' | 'ignored' | 'refused';
  /** Per-token log-probabilities of generated tokens. */
  generationLogprobs: boolean;
  /** `return_tokens_as_token_ids`: generated tokens come back as ids. */
  tokenIdsOut: boolean;
  /** Echo + logprobs scoring: the smallest max_tokens the server takes with it, and whether prompts may be batched. */
  scoring: { maxTokens: 0 | 1; batch: boolean } | undefined;
  beam: boolean;
}

export interface FeatureGap {
  feature: 'score' | 'beam' | 'choices' | 'seed' | 'token-id prompts' | 'logprobs' | 'token ids' | 'tokenizer check' | 'extensions';
  /** What the server did, in its words when it gave some. */
  problem: string;
  /** What banter does about it. */
  effect: string;
}

const PROBE_TEXT = 'Hello there! How are you doing today?';

interface CompletionBody {
  choices?: { index?: number; text?: string; finish_reason?: string | null; logprobs?: { tokens?: unknown[]; token_logprobs?: unknown[] } | null }[];
}

/** Servers whose own documentation says they implement banter's extension parameters. */
const EXTENSIONS_HONOURED: Record<string, string> = {
  banter: 'all',
  vllm: 'top_k, min_tokens, repetition_penalty, use_beam_search (no_repeat_ngram_size is ignored)',
};

export async function probeServer(connection: EngineServerConnection, model: string, ownedBy: string, tokenizer: TextTokenizer): Promise<{ features: ServerFeatures; gaps: FeatureGap[] }> {
  const ids = tokenizer.encode(PROBE_TEXT);
  const gaps: FeatureGap[] = [];
  const complete = async (body: Record<string, unknown>) => (await connection.post<CompletionBody>('/completions', { model, ...body }, { retry: false })).body;
  const attempt = async (body: Record<string, unknown>): Promise<{ body?: CompletionBody; problem?: string }> => {
    try {
      return { body: await complete(body) };
    } catch (error) {
      if (error instanceof RemoteEngineError && (error.code === 'engine_server_rejected' || error.code === 'engine_server_failed')) return { problem: error.message };
      throw error;
    }
  };

  // A server with another tokenizer would read every token-id prompt as different text: checked first.
  const sameTokenizer = await checkTokenizer(connection, model, ids);
  if (sameTokenizer === false) {
    throw new RemoteEngineError(
      'engine_server_protocol',
      `the engine server's tokenizer for ${model} is not the one in engine.model's folder (the server's /tokenize splits ${JSON.stringify(PROBE_TEXT)} differently): the folder must hold the served model's tokenizer.json`,
    );
  }
  if (sameTokenizer === undefined) gaps.push({ feature: 'tokenizer check', problem: 'the server has no /tokenize', effect: "the server's tokenizer could not be checked against engine.model's folder" });

  // A plain completion must work; token-id prompts are tried first.
  const plain = { max_tokens: 2, temperature: 0, logprobs: 0, return_tokens_as_token_ids: true };
  let first = await attempt({ ...plain, prompt: ids });
  const tokenIdPrompts = first.body !== undefined;
  if (!tokenIdPrompts) {
    gaps.push({ feature: 'token-id prompts', problem: first.problem!, effect: 'prompts are sent as text (with special tokens written out) and the server re-tokenizes them' });
    first = await attempt({ ...plain, prompt: PROBE_TEXT });
    if (!first.body) {
      const bare = await attempt({ prompt: PROBE_TEXT, max_tokens: 2 });
      if (!bare.body) throw new RemoteEngineError('engine_server_rejected', `the engine server at ${connection.url} does not complete a plain prompt for model ${model}: ${bare.problem}`);
      first = bare;
    }
  }
  const prompt = tokenIdPrompts ? ids : PROBE_TEXT;
  const logprobs = first.body?.choices?.[0]?.logprobs;
  const generationLogprobs = Array.isArray(logprobs?.token_logprobs) && logprobs.token_logprobs.length > 0 && logprobs.token_logprobs.every((v) => typeof v === 'number');
  if (!generationLogprobs) {
    gaps.push({ feature: 'logprobs', problem: 'completions carry no per-token logprobs', effect: 'candidates get logprob and avgLogprob 0, so selection weights on them rank every candidate alike' });
  }
  const tokenIdsOut = Array.isArray(logprobs?.tokens) && logprobs.tokens.length > 0 && logprobs.tokens.every((t) => typeof t === 'string' && /^token_id:\d+$/.test(t));
  if (!tokenIdsOut) {
    gaps.push({ feature: 'token ids', problem: 'return_tokens_as_token_ids is not honoured', effect: 'the tokens of a candidate are re-encoded from its text (lengths may differ by a token or two)' });
  }

  const several = await attempt({ prompt, n: 2, max_tokens: 1, temperature: 1 });
  const choices = several.body?.choices?.length === 2;
  if (!choices) gaps.push({ feature: 'choices', problem: several.problem ?? 'n: 2 gave one choice', effect: 'the N candidates of a turn are N requests (the server batches them if it can)' });

  const seeded = { prompt, max_tokens: 8, temperature: 1, seed: 1234 };
  const [one, two] = [await attempt(seeded), await attempt(seeded)];
  const seed = !one.body ? 'refused' : one.body.choices?.[0]?.text === two.body?.choices?.[0]?.text ? 'honoured' : 'ignored';
  if (seed !== 'honoured') {
    gaps.push({ feature: 'seed', problem: seed === 'refused' ? one.problem! : 'the same seed gave different completions', effect: 'decoding.seed has no effect: candidates are not reproducible' });
  }

  const scoring = await probeScoring(attempt, prompt, tokenIdPrompts, gaps);

  const beamProbe = await attempt({ prompt, use_beam_search: true, n: 2, best_of: 2, max_tokens: 2, temperature: 0 });
  // A server that ignores use_beam_search answers as if sampling: only those known to run it count.
  const beam = beamProbe.body?.choices?.length === 2 && (ownedBy === 'banter' || ownedBy === 'vllm');
  if (!beam) {
    gaps.push({ feature: 'beam', problem: beamProbe.problem ?? 'use_beam_search is not known to be honoured by this server', effect: 'decoding.strategy beam fails at start' });
  }
  if (!(ownedBy in EXTENSIONS_HONOURED)) {
    gaps.push({
      feature: 'extensions',
      problem: `${ownedBy} may ignore top_k, min_tokens, repetition_penalty and no_repeat_ngram_size (vLLM's and Hugging Face's names)`,
      effect: 'decoding settings other than temperature, top_p, max tokens and seed may have no effect',
    });
  } else if (ownedBy === 'vllm') {
    gaps.push({ feature: 'extensions', problem: 'vLLM has no no_repeat_ngram_size', effect: 'decoding.noRepeatNgramSize has no effect' });
  }
  return { features: { server: ownedBy, tokenIdPrompts, sameTokenizer, choices, seed, generationLogprobs, tokenIdsOut, scoring, beam }, gaps };
}

/** Echo + logprobs scoring: both prompts come back with one log-probability per prompt token (the first null). */
async function probeScoring(
  attempt: (body: Record<string, unknown>) => Promise<{ body?: CompletionBody; problem?: string }>,
  prompt: number[] | string,
  tokenIdPrompts: boolean,
  gaps: FeatureGap[],
): Promise<ServerFeatures['scoring']> {
  const effect = 'score() fails: MMI and any log-probability scoring on this server cannot run (a plugin that needs it stops the bot at start)';
  if (!tokenIdPrompts) {
    gaps.push({ feature: 'score', problem: 'no token-id prompts', effect });
    return undefined;
  }
  const ids = prompt as number[];
  const shorter = ids.slice(0, -1);
  const echoes = (body: CompletionBody | undefined, prompts: number[][]) => {
    const choices = [...(body?.choices ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return (
      choices.length === prompts.length &&
      choices.every((choice, i) => {
        const values = choice.logprobs?.token_logprobs;
        return Array.isArray(values) && values.length >= prompts[i].length && values.slice(1, prompts[i].length).every((v) => typeof v === 'number' && v <= 0);
      })
    );
  };
  let problem = '';
  for (const maxTokens of [0, 1] as const) {
    for (const batch of [true, false]) {
      const prompts = batch ? [ids, shorter] : [ids];
      const answer = await attempt({ prompt: batch ? prompts : ids, echo: true, logprobs: 0, max_tokens: maxTokens, temperature: 0 });
      if (echoes(answer.body, prompts)) return { maxTokens, batch };
      problem ||= answer.problem ?? 'echo + logprobs did not return the prompt tokens\' log-probabilities';
    }
  }
  gaps.push({ feature: 'score', problem, effect });
  return undefined;
}

/**
 * true/false: the server's /tokenize agrees with the local ids; undefined: it has none. One body
 * speaks vLLM's (`prompt`), llama.cpp's (`content`) and TGI's (`inputs`, answered with a bare list);
 * a BOS the server adds in front anyway is not a difference.
 */
async function checkTokenizer(connection: EngineServerConnection, model: string, ids: number[]): Promise<boolean | undefined> {
  let body: { tokens?: unknown[] } | unknown[];
  try {
    ({ body } = await connection.post<{ tokens?: unknown[] } | unknown[]>(
      '/tokenize',
      { model, prompt: PROBE_TEXT, add_special_tokens: false, content: PROBE_TEXT, add_special: false, inputs: PROBE_TEXT },
      { at: 'root', retry: false },
    ));
  } catch (error) {
    if (error instanceof RemoteEngineError && (error.code === 'engine_server_rejected' || error.code === 'engine_server_failed')) return undefined;
    throw error;
  }
  const listed = Array.isArray(body) ? body : body.tokens;
  if (!Array.isArray(listed)) return undefined;
  const theirs = listed.map((token) => (typeof token === 'object' && token !== null && 'id' in token ? (token as { id: unknown }).id : token));
  const same = (list: unknown[]) => list.length === ids.length && list.every((token, i) => token === ids[i]);
  return same(theirs) || same(theirs.slice(1));
}
