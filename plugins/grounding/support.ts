/**
 * How much of a reply is backed by the evidence. Words the user already said do not count: echoing
 * "tall" back to "how tall are you?" states nothing the passage backs. Numbers weigh double, since
 * a wrong number is the most common unsupported claim.
 */
import type { Evidence } from '../../core/index.js';
import { contentTerms, isNumberTerm, sentences } from './text.js';

export interface Support {
  /** Weighted share of the reply's new content terms found in the best passage, 0..1. */
  support: number;
  /** States a fact: a number, a named entity, or an "is/was" statement outside a question. */
  claimLike: boolean;
  /** The passage sharing the most content with the reply, with the weighted count shared. */
  best?: { evidence: Evidence; shared: number };
}

const weight = (term: string): number => (isNumberTerm(term) ? 2 : 1);
/**
 * The least weight a reply's support is measured against: a one-word reply ("rock") that happens
 * to appear in a passage says too little to count as backed by it; a number and its unit do.
 */
const MIN_SUBSTANCE = 3;

export function measureSupport(reply: string, evidence: readonly Evidence[], queryTerms: ReadonlySet<string>): Support {
  const terms = new Set(contentTerms(reply).filter((term) => !queryTerms.has(term)));
  const total = [...terms].reduce((sum, term) => sum + weight(term), 0);
  const claimLike = isClaimLike(reply);
  let best: Support['best'];
  for (const passage of evidence) {
    const passageTerms = new Set(contentTerms(`${passage.title} ${passage.text}`));
    const shared = [...terms].filter((term) => passageTerms.has(term)).reduce((sum, term) => sum + weight(term), 0);
    if (shared > 0 && (!best || shared > best.shared)) best = { evidence: passage, shared };
  }
  return { support: total === 0 || !best ? 0 : best.shared / Math.max(total, MIN_SUBSTANCE), claimLike, best };
}

/** Numbers, capitalized names inside a sentence, or a declarative "is/was/are/were/am" sentence. */
export function isClaimLike(reply: string): boolean {
  for (const sentence of sentences(reply)) {
    if (/\d/.test(sentence)) return true;
    const tokens = sentence.split(/\s+/).slice(1);
    if (tokens.some((token) => /^[A-Z][a-z]+/.test(token))) return true;
    if (!sentence.trim().endsWith('?') && /\b(?:is|was|are|were|am)\b|\b\w+'s\b|\bI'm\b/i.test(sentence)) return true;
  }
  return false;
}

const QUESTION_START = /^(?:who|whom|whose|what|when|where|which|why|how|is|are|was|were|do|does|did|can|could|will|would|has|have|tell me|name|list)\b/i;

/** A question (ends with "?" or opens like one): the kind of message a passage can answer. */
export function isQuestion(message: string): boolean {
  const text = message.trim();
  return text.endsWith('?') || QUESTION_START.test(text);
}

/**
 * A quote that answers the query: the passage's best-matching sentence, preceded by the opening
 * sentence (the topic sentence, which often holds the answer in other words) and followed by the
 * sentences after it while they fit in `maxChars`, in the passage's order. `answerTerms` weighs
 * each term: the asker's own words above their synonyms.
 */
export function quoteFor(passage: Pick<Evidence, 'text'>, answerTerms: ReadonlyMap<string, number>, maxChars: number): string {
  const all = sentences(passage.text);
  const hits = all.map((sentence) => [...new Set(contentTerms(sentence))].reduce((sum, term) => sum + (answerTerms.get(term) ?? 0), 0));
  const best = hits.indexOf(Math.max(...hits));
  const picked = [best];
  let length = all[best].length;
  const add = (index: number): void => {
    if (index < all.length && !picked.includes(index) && length + 1 + all[index].length <= maxChars) {
      picked.push(index);
      length += 1 + all[index].length;
    }
  };
  add(0);
  for (let next = best + 1; next < all.length && length < maxChars; next++) add(next);
  const quote = picked
    .sort((a, b) => a - b)
    .map((index) => all[index])
    .join(' ');
  return quote.length <= maxChars ? quote : `${quote.slice(0, maxChars - 1).replace(/\s+\S*$/, '')}…`;
}

/** Query terms of a message, as support and quoting compare them. */
export function messageTerms(message: string): Set<string> {
  return new Set(contentTerms(message));
}

