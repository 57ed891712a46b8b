/**
 * Word-level text handling shared by indexing, querying and support scoring. One tokenizer for
 * all three, so that a word in a passage, in a query and in a candidate reply is the same term.
 */

/** Function words that carry no topic: dropped from the index, the queries and support counts. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are aren as at be because been being below ' +
    'between both but by can cannot could couldn did didn do does doesn doing don down during each either else ' +
    'ever few for from further get gets got had hadn has hasn have haven having he her here hers herself him ' +
    'himself his how i if in into is isn it its itself just let like ll me might more most much must mustn my ' +
    'myself no nor not now of off on once one only or other ought our ours ourselves out over own re really s ' +
    'same shall shan she should shouldn so some such t tell than that the their theirs them themselves then ' +
    'there these they this those through to too under until up ve very was wasn we well were weren what when ' +
    'where which while who whom why will with won would wouldn yeah yes yet you your yours yourself yourselves ' +
    'oh ok okay hi hello hey please thanks thank lot lots know think thing things something anything want ' +
    'maybe sure many say said d m y anyone anybody someone somebody everyone everybody everything'
  ).split(' '),
);

/** Folds thousands separators so that "8,848.86" and "8848.86" are one term. */
function foldNumbers(text: string): string {
  return text.replace(/(\d),(?=\d{3}(?!\d))/g, '$1');
}

/** Lowercased word and number tokens, stop words included (callers decide what to drop). */
export function words(text: string): string[] {
  const folded = foldNumbers(text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')).toLowerCase();
  return folded.match(/\d+(?:\.\d+)?|[a-z]+/g) ?? [];
}

/** A light suffix stripper: enough to match "climbers"/"climber" and "routes"/"route". */
export function stem(word: string): string {
  if (/^\d/.test(word) || word.length <= 3) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith('es') && /(?:ss|sh|ch|x|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is')) return word.slice(0, -1);
  return word;
}

/** Content terms: tokens minus stop words, stemmed. Used for indexing and overlap. */
export function contentTerms(text: string): string[] {
  return words(text)
    .filter((word) => !STOPWORDS.has(word))
    .map(stem);
}

/** Unigram F1 of two texts' content terms (counted with repeats), 0 when either has none. */
export function termF1(text: string, reference: string): number {
  const counts = new Map<string, number>();
  for (const term of contentTerms(reference)) counts.set(term, (counts.get(term) ?? 0) + 1);
  const said = contentTerms(text);
  let shared = 0;
  for (const term of said) {
    const left = counts.get(term) ?? 0;
    if (left > 0) {
      shared++;
      counts.set(term, left - 1);
    }
  }
  if (shared === 0) return 0;
  const precision = shared / said.length;
  const recall = shared / contentTerms(reference).length;
  return (2 * precision * recall) / (precision + recall);
}

export function isNumberTerm(term: string): boolean {
  return /^\d/.test(term);
}

/**
 * Splits prose into sentences at end punctuation followed by a capital or digit ("8,848.86 m"
 * stays whole), but not after an initial or a title ("B.B. King", "Sgt. Pepper", "Mrs. Robinson").
 */
export function sentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=[.!?]["')\]]?)(?<!\b(?:[A-Z]|Mrs?|Ms|Dr|St|Sgt|Mt|Jr|Sr|vs)\.)\s+(?=["'(]?[A-Z0-9])/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}
