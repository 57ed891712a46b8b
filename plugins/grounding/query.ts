/**
 * Builds a retrieval query from the user's message and the recent context. The message's words are
 * "slots" the match must cover; synonyms (from config) let a slot be covered by other words (a role
 * maps "you" to its own name: "how tall are you?" asks about Everest's height); context turns and
 * framing terms only nudge the ranking.
 */
import { STOPWORDS, contentTerms, stem, words } from './text.js';

export interface QueryRewrite {
  /** Terms added to every query at a low weight: a framing (music: "music song artist"). */
  add: string[];
  /** Word -> terms that stand for it in the knowledge (lowercase words, matched before stemming too). */
  synonyms: Record<string, string[]>;
}

export interface RetrievalQuery {
  /** Term -> weight, for ranking. */
  weights: Map<string, number>;
  /** One set of terms per meaningful word of the message; a hit covers a slot by matching any term. */
  slots: Set<string>[];
  /** Adjacent content words of the message ("queen soul" from "Queen of Soul"), as "a b". */
  phrases: string[];
}

export interface QueryWeights {
  context: number;
  framing: number;
}

export function buildQuery(message: string, context: readonly string[], rewrite: QueryRewrite, weights: QueryWeights): RetrievalQuery {
  const terms = contentTerms(message);
  const phrases = [...new Set(terms.slice(1).map((term, i) => `${terms[i]} ${term}`))];
  const query: RetrievalQuery = { weights: new Map(), slots: [], phrases };
  const seen = new Set<string>();
  for (const word of words(message)) {
    if (seen.has(word)) continue;
    seen.add(word);
    const synonyms = rewrite.synonyms[word] ?? rewrite.synonyms[stem(word)] ?? [];
    const slot = new Set<string>(STOPWORDS.has(word) ? [] : [stem(word)]);
    for (const synonym of synonyms) for (const term of contentTerms(synonym)) slot.add(term);
    if (slot.size === 0) continue;
    query.slots.push(slot);
    for (const term of slot) query.weights.set(term, 1);
  }
  const addLowWeight = (terms: string[], weight: number): void => {
    for (const term of terms) if (!query.weights.has(term)) query.weights.set(term, weight);
  };
  for (const turn of context) addLowWeight(contentTerms(turn), weights.context);
  addLowWeight(rewrite.add.flatMap(contentTerms), weights.framing);
  return query;
}
