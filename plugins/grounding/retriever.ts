/**
 * A BM25 (MiniSearch's BM25+) index over knowledge passages, built at start and cached on disk.
 * The cache file is named by the source paths and holds a fingerprint of every file (path, size,
 * mtime): when a file is added, removed or changed, the fingerprint differs and the index is rebuilt.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import MiniSearch, { type Options } from 'minisearch';
import type { RetrievalQuery } from './query.js';
import { type Passage, listSourceFiles, readPassages } from './sources.js';
import { STOPWORDS, contentTerms, stem, words } from './text.js';

/** Bump when passages or index terms would come out differently for the same files (chunking, stemming). */
const CACHE_FORMAT = 1;

export interface Hit {
  passage: Passage;
  /** BM25+ score, weighted by query term weights. */
  score: number;
  /** Share of the message's slots the passage covers, each slot weighted by its rarity, 0..1. */
  coverage: number;
  /** How many of the message's adjacent word pairs the passage has adjacent too. */
  phrases: number;
}

export interface IndexOptions {
  /** Folder for cache files; undefined: no cache. */
  cacheDir?: string;
  /** Longest passage, in characters. */
  maxPassageChars: number;
  /** Told when the cache cannot be written (the index still works); without it, that throws. */
  onCacheWriteError?: (error: unknown) => void;
}

interface CacheFile {
  format: number;
  fingerprint: string;
  passages: Passage[];
  index: string;
}

const INDEX_OPTIONS: Options<Passage> = {
  fields: ['title', 'text'],
  idField: 'id',
  tokenize: (text) => words(text),
  processTerm: (term) => (STOPWORDS.has(term) ? null : stem(term)),
};

export class KnowledgeIndex {
  /** Each passage's adjacent content-word pairs, computed when first needed. */
  private readonly pairs = new Map<string, Set<string>>();
  /** In how many passages each term occurs, for weighing slots by rarity. */
  private readonly documentFrequency = new Map<string, number>();

  private constructor(
    private readonly passages: Map<string, Passage>,
    private readonly index: MiniSearch<Passage>,
    /** Whether this index was read from the cache rather than built. */
    readonly fromCache: boolean,
  ) {
    for (const passage of passages.values()) {
      for (const term of new Set(contentTerms(`${passage.title} ${passage.text}`))) {
        this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
      }
    }
  }

  /**
   * BM25's inverse document frequency: a slot matched by a rare word ("Tenzing") says more about
   * a passage than one matched by a common word ("year"). A slot weighs as its rarest term.
   */
  private slotWeight(slot: ReadonlySet<string>): number {
    const n = this.passages.size;
    let weight = 0;
    for (const term of slot) {
      // A word found nowhere weighs as one found once: it cannot outweigh every word that matched.
      const df = Math.max(1, this.documentFrequency.get(term) ?? 0);
      weight = Math.max(weight, Math.log(1 + (n - df + 0.5) / (df + 0.5)));
    }
    return weight;
  }

  get size(): number {
    return this.passages.size;
  }

  /** Opens the index over `paths` (folders or files), from the cache when it is still valid. */
  static async open(paths: readonly string[], options: IndexOptions): Promise<KnowledgeIndex> {
    const files = await listSourceFiles(paths);
    // The stop words decide the index terms, so a changed list must not reuse an old index.
    const fingerprint = hash(JSON.stringify({ format: CACHE_FORMAT, stopwords: [...STOPWORDS], maxChars: options.maxPassageChars, files }));
    const cacheFile = options.cacheDir ? join(options.cacheDir, `knowledge-${hash(JSON.stringify([...paths].sort())).slice(0, 16)}.json`) : undefined;

    if (cacheFile) {
      const cached = await readCache(cacheFile);
      if (cached && cached.format === CACHE_FORMAT && cached.fingerprint === fingerprint) {
        const index = MiniSearch.loadJSON<Passage>(cached.index, INDEX_OPTIONS);
        return new KnowledgeIndex(new Map(cached.passages.map((passage) => [passage.id, passage])), index, true);
      }
    }

    const passages: Passage[] = [];
    for (const file of files) passages.push(...(await readPassages(file.path, options.maxPassageChars)));
    const index = new MiniSearch<Passage>(INDEX_OPTIONS);
    index.addAll(passages);
    if (cacheFile && options.cacheDir) {
      const content: CacheFile = { format: CACHE_FORMAT, fingerprint, passages, index: JSON.stringify(index) };
      try {
        await mkdir(options.cacheDir, { recursive: true });
        // Write then rename, so a reader never sees half a file.
        const temporary = `${cacheFile}.${process.pid}.tmp`;
        await writeFile(temporary, JSON.stringify(content));
        await rename(temporary, cacheFile);
      } catch (error) {
        if (!options.onCacheWriteError) throw error;
        options.onCacheWriteError(error);
      }
    }
    return new KnowledgeIndex(new Map(passages.map((passage) => [passage.id, passage])), index, false);
  }

  /** Best passages for the query, best first. */
  search(query: RetrievalQuery, limit: number): Hit[] {
    if (query.weights.size === 0) return [];
    const results = this.index.search([...query.weights.keys()].join(' '), {
      tokenize: (text) => text.split(' '),
      processTerm: (term) => term,
      boostTerm: (term) => query.weights.get(term) ?? 1,
      boost: { title: 1.5 },
      combineWith: 'OR',
    });
    const slotWeights = query.slots.map((slot) => this.slotWeight(slot));
    const totalWeight = slotWeights.reduce((sum, weight) => sum + weight, 0);
    return results
      .map((result): Hit => {
        const matched = new Set(result.queryTerms);
        const covered = query.slots.reduce((sum, slot, i) => sum + ([...slot].some((term) => matched.has(term)) ? slotWeights[i] : 0), 0);
        const passage = this.passages.get(result.id as string)!;
        const pairs = this.pairsOf(passage);
        return {
          passage,
          // MiniSearch multiplies by the number of terms matched, which favours passages that
          // match many low-weight framing terms; the plain weighted BM25 sum ranks better here.
          score: result.score / Math.max(1, result.terms.length),
          coverage: totalWeight === 0 ? 0 : covered / totalWeight,
          phrases: query.phrases.filter((phrase) => pairs.has(phrase)).length,
        };
      })
      // A passage that covers more of what was asked wins, then one that has its phrases
      // ("Queen of Soul"), then BM25 decides.
      .sort((a, b) => b.coverage - a.coverage || b.phrases - a.phrases || b.score - a.score)
      .slice(0, limit);
  }

  private pairsOf(passage: Passage): Set<string> {
    let pairs = this.pairs.get(passage.id);
    if (!pairs) {
      pairs = new Set();
      for (const field of [passage.title, passage.text]) {
        const terms = contentTerms(field);
        for (let i = 1; i < terms.length; i++) pairs.add(`${terms[i - 1]} ${terms[i]}`);
      }
      this.pairs.set(passage.id, pairs);
    }
    return pairs;
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function readCache(file: string): Promise<CacheFile | undefined> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    // No cache yet (or its folder cannot exist: the write will report why).
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
  try {
    return JSON.parse(content) as CacheFile;
  } catch {
    // A corrupt cache (e.g. a crash mid-write on a filesystem without atomic rename) is rebuilt.
    return undefined;
  }
}
