/** The grounding plugin's settings: bot config values, then the turn's preset overrides. */
import type { JSONSchema } from '../../core/index.js';
import type { QueryRewrite } from './query.js';

export interface EvidenceReplyConfig {
  /**
   * When to answer from the evidence if no candidate is supported: `questions` (factual questions
   * with a strong match), `requests` (any message with a strong match: a recommender), `never`.
   */
  when: 'questions' | 'requests' | 'never';
  /** `{quote}` and `{title}` are filled in; the citation is attached separately. */
  template: string;
  /** Longest quote, in characters. */
  maxQuoteChars: number;
}

export interface GroundingConfig {
  /** Knowledge folders/files for every conversation (relative to the bot config); presets add their own. */
  knowledge: string[];
  /** Where the index cache lives (relative to the bot config); empty string: no cache. */
  cacheDir: string;
  maxPassageChars: number;
  /** Passages retrieved and kept as evidence. */
  topK: number;
  /** Passages put into the prompt's knowledge segment. */
  maxKnowledge: number;
  /**
   * Each of those passages enters the prompt as its sentences that best match the message, at most
   * this many characters (0: the whole passage). A small model copies from a sentence or two; a
   * whole passage also crowds the history out of its context window.
   */
  snippetChars: number;
  /** A passage goes into the prompt only if it covers this share of the message's words... */
  minCoverage: number;
  /** ...and its BM25 score reaches this (BM25 scores shrink with small knowledge sets: 0 leaves it to coverage). */
  minScore: number;
  /** Recent history turns (besides the message) whose words join the query, at `contextWeight`. */
  contextTurns: number;
  contextWeight: number;
  queryRewrite: QueryRewrite;
  framingWeight: number;
  /** Support below this counts as unsupported. */
  minSupport: number;
  /** Subtracted from a claim-like candidate's support score when it is unsupported. */
  claimPenalty: number;
  /** A reply uses a passage (and cites it) when it shares this many weighted content terms with it... */
  citeMinShared: number;
  /** ...making up at least this share of the reply's new content terms. */
  citeMinShare: number;
  evidenceReply: EvidenceReplyConfig;
}

export const DEFAULT_CONFIG: GroundingConfig = {
  knowledge: [],
  cacheDir: '.banter/cache',
  maxPassageChars: 600,
  topK: 3,
  maxKnowledge: 1,
  snippetChars: 360,
  minCoverage: 0.5,
  minScore: 0,
  contextTurns: 2,
  contextWeight: 0.3,
  queryRewrite: { add: [], synonyms: {} },
  framingWeight: 0.2,
  minSupport: 0.5,
  claimPenalty: 0.5,
  citeMinShared: 2,
  citeMinShare: 0.3,
  evidenceReply: { when: 'questions', template: 'Here is what my source says: "{quote}"', maxQuoteChars: 320 },
};

const number = { type: 'number', minimum: 0 };

/** Every field optional: the same schema checks the bot config and each preset's overrides. */
export const CONFIG_SCHEMA: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    knowledge: { type: 'array', items: { type: 'string', minLength: 1 } },
    cacheDir: { type: 'string' },
    maxPassageChars: { type: 'integer', minimum: 80 },
    topK: { type: 'integer', minimum: 1 },
    maxKnowledge: { type: 'integer', minimum: 0 },
    snippetChars: { type: 'integer', minimum: 0, description: 'Longest knowledge snippet in the prompt (the best-matching sentences of a passage), in characters; 0 puts whole passages' },
    minCoverage: { type: 'number', minimum: 0, maximum: 1 },
    minScore: number,
    contextTurns: { type: 'integer', minimum: 0 },
    contextWeight: number,
    queryRewrite: {
      type: 'object',
      additionalProperties: false,
      properties: {
        add: { type: 'array', items: { type: 'string' } },
        synonyms: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
      },
    },
    framingWeight: number,
    minSupport: { type: 'number', minimum: 0, maximum: 1 },
    claimPenalty: number,
    citeMinShared: number,
    citeMinShare: { type: 'number', minimum: 0, maximum: 1 },
    evidenceReply: {
      type: 'object',
      additionalProperties: false,
      properties: {
        when: { enum: ['questions', 'requests', 'never'] },
        template: { type: 'string', pattern: '\\{quote\\}' },
        maxQuoteChars: { type: 'integer', minimum: 40 },
      },
    },
  },
};

export type GroundingOverrides = Partial<Omit<GroundingConfig, 'queryRewrite' | 'evidenceReply'>> & {
  queryRewrite?: Partial<QueryRewrite>;
  evidenceReply?: Partial<EvidenceReplyConfig>;
};

/** Layers overrides on a base; nested objects merge one level deep, synonyms merge by word. */
export function mergeConfig(base: GroundingConfig, overrides: GroundingOverrides | undefined): GroundingConfig {
  if (!overrides) return base;
  return {
    ...base,
    ...overrides,
    queryRewrite: {
      add: [...base.queryRewrite.add, ...(overrides.queryRewrite?.add ?? [])],
      synonyms: { ...base.queryRewrite.synonyms, ...overrides.queryRewrite?.synonyms },
    },
    evidenceReply: { ...base.evidenceReply, ...overrides.evidenceReply },
  };
}
