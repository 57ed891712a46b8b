/**
 * Text normalization against evasion, run before every detector: Unicode compatibility forms
 * (NFKC: fullwidth, mathematical letters), zero-width characters, combining marks (accents),
 * Cyrillic/Greek homoglyphs, case, s p a c e d or s.e.p.a.r.a.t.e.d letters, leetspeak and
 * repeated characters. The tables come from the rule model's featurizer spec so that the
 * TypeScript and Python (tools/safety/featurize.py) implementations stay identical.
 */

export interface NormalizeSpec {
  form: 'NFKC';
  stripCombiningMarks: boolean;
  zeroWidth: number[];
  homoglyphs: Record<string, string>;
  leetDigits: Record<string, string>;
  leetSymbols: Record<string, string>;
  spacedSeparators: string;
  minSpacedRun: number;
  minRepeatRun: number;
}

const COMBINING_MARK = /\p{Mn}/gu;

const isAsciiLetter = (ch: string) => ch >= 'a' && ch <= 'z';
const isAsciiAlnum = (ch: string) => isAsciiLetter(ch) || (ch >= '0' && ch <= '9');

export class TextNormalizer {
  private readonly zeroWidth: Set<string>;
  private readonly homoglyphs: Map<string, string>;

  constructor(private readonly spec: NormalizeSpec) {
    this.zeroWidth = new Set(spec.zeroWidth.map((code) => String.fromCodePoint(code)));
    this.homoglyphs = new Map(Object.entries(spec.homoglyphs));
  }

  /** Unicode-level folding only: keeps case, digits and punctuation (for e-mail/phone patterns). */
  light(text: string): string {
    let folded = '';
    for (const ch of text.normalize('NFKC')) if (!this.zeroWidth.has(ch)) folded += ch;
    if (this.spec.stripCombiningMarks) folded = folded.normalize('NFD').replace(COMBINING_MARK, '').normalize('NFC');
    let out = '';
    for (const ch of folded) {
      const lower = ch.toLowerCase();
      const mapped = this.homoglyphs.get(lower);
      out += mapped === undefined ? ch : ch !== lower ? mapped.toUpperCase() : mapped;
    }
    return out;
  }

  /** Full normalization: what the rule model and the lexicons read. */
  full(text: string): string {
    const spec = this.spec;
    let tokens = this.light(text).toLowerCase().split(/\s+/).filter((t) => t.length > 0);
    tokens = tokens.map((t) => joinSeparatedLetters(t, spec.spacedSeparators));
    tokens = joinSpacedRuns(tokens, spec.minSpacedRun);
    tokens = tokens.map((t) => unleet(t, spec.leetDigits, spec.leetSymbols));
    tokens = tokens.map((t) => collapseRepeats(t, spec.minRepeatRun));
    return tokens.join(' ');
  }
}

/** 'f.u.c.k' -> 'fuck': single alphanumerics separated by one repeated separator. */
function joinSeparatedLetters(token: string, separators: string): string {
  const chars = Array.from(token);
  if (chars.length < 5 || chars.length % 2 === 0) return token;
  const separator = chars[1];
  if (!separators.includes(separator)) return token;
  for (const [i, ch] of chars.entries()) {
    if (i % 2 === 0 ? !isAsciiAlnum(ch) : ch !== separator) return token;
  }
  return chars.filter((_, i) => i % 2 === 0).join('');
}

/** 's p a c e d' -> 'spaced': runs of single-character tokens. */
function joinSpacedRuns(tokens: string[], minRun: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    let j = i;
    while (j < tokens.length && tokens[j].length === 1 && isAsciiAlnum(tokens[j])) j++;
    if (j - i >= minRun) {
      out.push(tokens.slice(i, j).join(''));
      i = j;
    } else {
      out.push(tokens[i]);
      i++;
    }
  }
  return out;
}

/** Digits become letters inside a token that has a letter; symbols only when a letter follows. */
function unleet(token: string, digits: Record<string, string>, symbols: Record<string, string>): string {
  const chars = Array.from(token);
  if (!chars.some(isAsciiLetter)) return token;
  return chars
    .map((ch, i) => {
      if (Object.hasOwn(digits, ch)) return digits[ch];
      if (Object.hasOwn(symbols, ch) && i + 1 < chars.length && isAsciiLetter(chars[i + 1])) return symbols[ch];
      return ch;
    })
    .join('');
}

/** 'looooser' -> 'loser': runs of `minRun` or more of one character become one. */
function collapseRepeats(token: string, minRun: number): string {
  const chars = Array.from(token);
  let out = '';
  let i = 0;
  while (i < chars.length) {
    let j = i;
    while (j < chars.length && chars[j] === chars[i]) j++;
    out += j - i >= minRun ? chars[i] : chars.slice(i, j).join('');
    i = j;
  }
  return out;
}
