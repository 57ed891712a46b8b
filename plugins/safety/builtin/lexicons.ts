/** The word lists of the built-in detectors (plugins/safety/lexicons.yaml), and regex helpers over them. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../../../core/index.js';

export const SHIPPED_LEXICONS = () => join(packageRoot(), 'plugins', 'safety', 'lexicons.yaml');

export interface Lexicons {
  groups: Record<string, string[]>;
  dehumanising: string[];
  harms: string[];
  violence: string[];
  hate_verbs: string[];
  praise: string[];
  insults: string[];
  slurs: string[];
  sexual: string[];
  minors: string[];
  people: string[];
}

const LISTS: (keyof Lexicons)[] = ['dehumanising', 'harms', 'violence', 'hate_verbs', 'praise', 'insults', 'slurs', 'sexual', 'minors', 'people'];

export async function loadLexicons(file = SHIPPED_LEXICONS()): Promise<Lexicons> {
  const raw = parse(await readFile(file, 'utf8')) as Partial<Lexicons>;
  for (const key of LISTS) {
    if (!Array.isArray(raw[key]) || raw[key]!.some((t) => typeof t !== 'string')) throw new Error(`${file}: "${key}" must be a list of words`);
  }
  if (!raw.groups || typeof raw.groups !== 'object') throw new Error(`${file}: "groups" must map a characteristic to a list of words`);
  return raw as Lexicons;
}

const escape = (term: string) => term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/'/g, "['’]?").replace(/ /g, '[\\s-]+');

/** A non-capturing alternation of the terms, longest first, each a whole word (an optional plural "s"). */
export function words(terms: string[], plural = false): string {
  const sorted = [...new Set(terms)].sort((a, b) => b.length - a.length).map(escape);
  return `(?:${sorted.join('|')})${plural ? "(?:s|es|'s)?" : ''}`;
}

/** `\b(?:...)\b` around a pattern, on the fully normalized (lower-case) text. */
export const bounded = (pattern: string) => `(?<![\\p{L}\\p{N}])${pattern}(?![\\p{L}\\p{N}])`;

/** What may follow a group adjective to name people ("gay" -> "gay people", "black guys"). */
const PEOPLE_NOUNS = ['people', 'folks', 'men', 'women', 'kids', 'guys', 'girls', 'families', 'person'];

/**
 * A pattern for any protected group: a group word, optionally followed by a people noun, or a slur
 * (singular or plural). Kept as one short alternation: a regex over every combination is far slower.
 */
export function groupPattern(lexicons: Lexicons): string {
  const base = Object.values(lexicons.groups).flat();
  return `(?:${words(base)}(?: ${words(PEOPLE_NOUNS)})?|${words(lexicons.slurs)}(?:s|es)?)`;
}

/** Words too common to say a group is named ("the disabled", "people of colour"): the next word decides. */
const NOT_TRIGGERS = new Set(['the', 'people', 'a', 'an']);

/** One distinctive word of every group and slur term: a text with none of them names no group. */
export function groupTriggers(lexicons: Lexicons): Set<string> {
  return new Set([...Object.values(lexicons.groups).flat(), ...lexicons.slurs].flatMap((term) => {
    const word = term.split(' ').find((w) => !NOT_TRIGGERS.has(w)) ?? term;
    return [word, `${word}s`, `${word}es`];
  }));
}

export function compile(pattern: string): RegExp {
  return new RegExp(pattern, 'gu');
}

/** Spans inside quotation marks: a quoted hateful sentence is reported or rebutted, not said. */
export function quotedSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const m of text.matchAll(/["“”«»]([^"“”«»]+)["“”«»]|(?:^|\s)['‘]([^'’]+)['’](?=$|[\s.,!?;:])/gu)) {
    spans.push([m.index!, m.index! + m[0].length]);
  }
  return spans;
}

export const inside = (spans: [number, number][], start: number, end: number) => spans.some(([a, b]) => start >= a && end <= b);

/** The clause before `index` (from the last . ! ? ; , or "but"): where a speaker frames what follows. */
export function clauseBefore(text: string, index: number): string {
  const before = text.slice(0, index);
  const ends = ['.', '!', '?', ';', ',', ' but '].map((mark) => {
    const at = before.lastIndexOf(mark);
    return at < 0 ? 0 : at + mark.length;
  });
  return before.slice(Math.max(...ends));
}

export function clauseAfter(text: string, index: number): string {
  const after = text.slice(index);
  const cut = after.search(/[.!?;]/);
  return cut < 0 ? after : after.slice(0, cut);
}
