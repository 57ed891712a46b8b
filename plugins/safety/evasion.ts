/**
 * Undoes disguises that per-character normalization cannot: doubled letters ("yoouu'ree aa looseer"),
 * words spelled out letter by letter ("y o u  a r e  a  l o s e r", "l. o. s. e. r"), a lone digit for a
 * letter ("you're 4 loser", "1 hate them") and "8" for "ate" ("h8"). Each is undone only when the result is
 * an English word of everyday chat (plugins/safety/words.txt) and the disguised form is not, so ordinary
 * text ("too good", "I have 4 cats", "plan a b c") stays as it was.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../core/index.js';

export const SHIPPED_WORDS = () => join(packageRoot(), 'plugins', 'safety', 'words.txt');

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '9': 'g', '@': 'a', $: 's', '|': 'l', '€': 'e' };
/** A lone "4" reads as "a" only after these (a copula or a word that takes "a" next). */
const BEFORE_A = new Set(['is', 'are', 'am', 'was', 'were', 'be', 'being', "you're", 'youre', 'ur', 'r', "i'm", 'im', "he's", "she's", "it's", 'its', "that's", 'thats', "there's", 'such', 'what', 'quite', 'like', 'as', 'you', 'u', 'ya', 'a', 'total', 'complete', 'real', 'absolute']);
/** A lone "1" reads as "i" at the start of a sentence before these. */
const AFTER_I = new Set(['hate', 'love', 'will', "'ll", 'want', 'wanna', 'wish', 'think', 'know', 'am', "'m", 'can', 'would', 'swear', 'dont', "don't", 'never', 'really', 'just', 'need', 'like', 'feel', 'h8', 'despise', 'am', 'was', 'have', 'hope', 'said', 'mean']);
const UNITS = new Set(['am', 'pm', 'hours', 'hour', 'minutes', 'mins', 'min', 'seconds', 'days', 'day', 'weeks', 'months', 'years', 'times', 'people', 'of', 'or', 'and', 'to', 'more', 'less', 'percent', 'km', 'kg', 'miles', 'points']);
const SEPARATORS = /^[.\-_*,]*$/;
/** The two-letter words a spelled-out run may split into (others, like "de", mean it was not words). */
const TWO_LETTER = new Set(['am', 'an', 'as', 'at', 'be', 'by', 'do', 'go', 'he', 'if', 'in', 'is', 'it', 'me', 'my', 'no', 'of', 'oh', 'ok', 'on', 'or', 'so', 'to', 'up', 'us', 'we', 'ur', 'ya']);

export interface FoldedText {
  /** Lower-cased text with disguised words written plainly. */
  text: string;
  /** Whether any disguise was undone (the rule models then read `text` instead of the original). */
  disguised: boolean;
}

interface Piece {
  pre: string;
  core: string;
  post: string;
}

function splitToken(token: string): Piece {
  const pre = /^[^\p{L}\p{N}@$|€]*/u.exec(token)![0];
  const rest = token.slice(pre.length);
  const post = /[^\p{L}\p{N}]*$/u.exec(rest)![0];
  return { pre, core: rest.slice(0, rest.length - post.length), post };
}

const isLetter = (s: string) => /^\p{L}$/u.test(s);

export class EvasionFolder {
  private readonly total: number;

  constructor(private readonly counts: Map<string, number>) {
    this.total = [...counts.values()].reduce((a, b) => a + b, 0) || 1;
  }

  static async load(file = SHIPPED_WORDS()): Promise<EvasionFolder> {
    const counts = new Map<string, number>();
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const [word, count] = line.split('\t');
      counts.set(word, Number(count) || 1);
    }
    return new EvasionFolder(counts);
  }

  isWord(word: string): boolean {
    return this.counts.has(word);
  }

  fold(text: string): FoldedText {
    const pieces = text.toLowerCase().split(/\s+/).filter(Boolean).map(splitToken);
    let disguised = false;
    const spelled = this.joinSpelledOut(pieces);
    disguised ||= spelled.changed;
    const out = spelled.pieces.map((piece, i, all) => {
      const word = this.plainWord(piece.core, all[i - 1], all[i + 1]);
      if (word === undefined) return piece;
      disguised ||= word.disguised;
      return { ...piece, core: word.text };
    });
    return { text: out.map((p) => p.pre + p.core + p.post).join(' '), disguised };
  }

  /** A token's plain form, when it is a disguised word (or a chat shorthand for one). */
  private plainWord(core: string, previous: Piece | undefined, next: Piece | undefined): { text: string; disguised: boolean } | undefined {
    if (core === 'u') return { text: 'you', disguised: false };
    if (core === 'r' && previous && ['u', 'you', 'they', 'we', 'these', 'those'].includes(previous.core)) return { text: 'are', disguised: false };
    if (core === '4' && previous && BEFORE_A.has(previous.core) && next && this.isWord(next.core) && !UNITS.has(next.core) && !/[^s]s$/.test(next.core)) {
      return { text: 'a', disguised: true };
    }
    if (core === '1' && (!previous || /[.!?]$/.test(previous.post)) && next && AFTER_I.has(next.core)) return { text: 'i', disguised: true };
    if (/^(\p{L})\1+$/u.test(core) && (core[0] === 'a' || core[0] === 'i')) return { text: core[0], disguised: true };
    if (!/\p{L}/u.test(core) || this.isWord(core)) return undefined;
    const ate = /^(\p{L}+)8(\p{L}*)$/u.exec(core);
    if (ate && this.isWord(`${ate[1]}ate${ate[2]}`)) return { text: `${ate[1]}ate${ate[2]}`, disguised: true };
    const unleeted = Array.from(core).map((ch) => LEET[ch] ?? ch).join('');
    if (unleeted !== core && this.isWord(unleeted)) return { text: unleeted, disguised: true };
    const collapsed = this.collapseDoubles(unleeted);
    return collapsed ? { text: collapsed, disguised: true } : undefined;
  }

  /** The most common word of chat that the token becomes when some runs of a repeated letter are one letter. */
  private collapseDoubles(token: string): string | undefined {
    const runs: { ch: string; n: number }[] = [];
    for (const ch of token) {
      if (runs.length && runs.at(-1)!.ch === ch) runs.at(-1)!.n++;
      else runs.push({ ch, n: 1 });
    }
    const repeated = runs.map((r, i) => (r.n > 1 ? i : -1)).filter((i) => i >= 0);
    if (repeated.length === 0 || repeated.length > 8) return undefined;
    let best: { word: string; count: number } | undefined;
    for (let mask = 0; mask < 1 << repeated.length; mask++) {
      const word = runs
        .map((r, i) => {
          const bit = repeated.indexOf(i);
          return bit < 0 ? r.ch : r.ch.repeat((mask >> bit) & 1 ? 2 : 1);
        })
        .join('');
      const count = this.counts.get(word);
      if (count !== undefined && (!best || count > best.count)) best = { word, count };
    }
    return best?.word;
  }

  /** Runs of single letters ("l o s e r", "l. o. s. e. r", "l.o.s.e.r") split into the words they spell. */
  private joinSpelledOut(pieces: Piece[]): { pieces: Piece[]; changed: boolean } {
    const letters = (p: Piece): string[] | undefined => {
      if (isLetter(p.core)) return [p.core];
      const parts = p.core.split(/[.\-_*]/);
      return parts.length >= 2 && parts.every(isLetter) ? parts : undefined;
    };
    const out: Piece[] = [];
    let changed = false;
    let i = 0;
    while (i < pieces.length) {
      let j = i;
      const run: string[] = [];
      // A run goes on while letters are followed by nothing or a separator (the last may end a sentence).
      while (j < pieces.length && letters(pieces[j]) && (j === i || (pieces[j].pre === '' && SEPARATORS.test(pieces[j - 1].post)))) run.push(...letters(pieces[j++])!);
      const words = run.length >= 4 ? this.segment(run.join('')) : undefined;
      const plausible = words && words.some((w) => w.length >= 3);
      if (plausible && words.length < run.length) {
        out.push(...words.map((core, k) => ({ pre: k === 0 ? pieces[i].pre : '', core, post: k === words.length - 1 ? pieces[j - 1].post.replace(/^[.\-_*]+(?=.)/, '') : '' })));
        changed = true;
        i = j;
      } else {
        out.push(pieces[i]);
        i++;
      }
    }
    return { pieces: out, changed };
  }

  /** The likeliest split of a letter string into chat words (unigram costs), or undefined. */
  segment(letters: string): string[] | undefined {
    const n = letters.length;
    const cost = new Array<number>(n + 1).fill(Infinity);
    const back = new Array<number>(n + 1).fill(-1);
    cost[0] = 0;
    for (let end = 1; end <= n; end++) {
      for (let start = Math.max(0, end - 18); start < end; start++) {
        if (cost[start] === Infinity) continue;
        const word = letters.slice(start, end);
        const count = this.counts.get(word);
        if (count === undefined || (word.length === 1 && word !== 'a' && word !== 'i') || (word.length === 2 && !TWO_LETTER.has(word))) continue;
        // A small bonus per word: spelled-out text is mostly short common words ("are a", not "area").
        const c = cost[start] + Math.log(this.total / count) - 0.5;
        if (c < cost[end]) {
          cost[end] = c;
          back[end] = start;
        }
      }
    }
    if (cost[n] === Infinity) return undefined;
    const words: string[] = [];
    for (let end = n; end > 0; end = back[end]) words.unshift(letters.slice(back[end], end));
    return words;
  }
}
