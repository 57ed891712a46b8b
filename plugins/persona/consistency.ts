/**
 * Role consistency (LaMDA): does a reply stay in character? Three checks, each cheap and
 * explainable: the role speaking of itself in the third person ("Mount Everest is..." from the
 * mountain), stepping out of a role ("as an AI", "language model"), and saying the opposite of a
 * persona line ("I love jazz" -> "I don't love jazz"), and stating a fact the persona rules out
 * (facts.ts: "I am vegan." -> "I love pepperoni pizza!"). Quoted text is someone else's words
 * (evidence shown with the reply) and is not checked.
 */

import { type Fact, contradicts, factsOf } from './facts.js';

export type ViolationKind = 'third-person' | 'breaks-role' | 'contradiction' | 'fact';

export interface Violation {
  kind: ViolationKind;
  /** The words that broke character, for traces. */
  detail: string;
}

export interface RoleProfile {
  /** Persona lines in force for the conversation. */
  persona: readonly string[];
  /** The bot plays a character: "as an AI" breaks it. */
  role: boolean;
  /** Names the role goes by; using them about itself is third person. */
  selfNames: readonly string[];
  /** Facts the persona states (facts.ts), the bot's name included. */
  facts: readonly Fact[];
}

export type Penalties = Record<ViolationKind, number>;

const QUOTED = /"[^"]*"|“[^”]*”/g;
const OUT_OF_ROLE =
  /\b(?:as an? (?:ai|artificial intelligence|language model|chatbot|chat bot|assistant|bot)|(?:an?|the) (?:large )?language model|i(?:'m| am) (?:just |only )?(?:an? )?(?:ai|bot|chatbot|computer program|program|virtual assistant|machine)\b|artificial intelligence)/i;
/** What may come right before a self-name without it being third person. */
const SELF_INTRODUCTION = /(?:\bi am|\bi'm|\bcall me|\bcalled|\bmy name is|\bknown as|\bme,)\s+(?:also\s+)?(?:the\s+)?$/i;
/** A capitalized word before the name, not starting a sentence: another name ("Sir George Everest"). */
const NAME_BEFORE = /(?<![.!?]\s*|^\s*)\b[A-Z][a-z]+\s+$/;
const NEGATION = /^(?:not|no|never|nothing|nobody|nowhere|neither|nor|cannot|\w+n't)$/;
const FILLER = new Set(
  'a an the i me my mine am is are was were be been do does did to of in on at for and or but so it its this that very really just also'.split(' '),
);

export function checkConsistency(reply: string, profile: RoleProfile): Violation[] {
  const text = reply.replace(/[’‘]/g, "'").replace(QUOTED, ' ');
  const violations: Violation[] = [];

  if (profile.role) {
    const outOfRole = OUT_OF_ROLE.exec(text);
    if (outOfRole) violations.push({ kind: 'breaks-role', detail: outOfRole[0] });
  }

  // Longest names first, blanked once seen, so "Everest" is not found again inside "Mount Everest".
  let unchecked = text;
  for (const name of [...profile.selfNames].sort((a, b) => b.length - a.length)) {
    const pattern = new RegExp(`\\b${escapeRegExp(name)}\\b('s)?`, 'gi');
    unchecked = unchecked.replace(pattern, (match: string, possessive: string | undefined, offset: number, whole: string) => {
      const before = whole.slice(0, offset);
      const after = whole.slice(offset + match.length);
      // "Everest Base Camp" and "George Everest" are other names, not the role speaking of itself.
      const partOfLongerName = (!possessive && /^\s+[A-Z]/.test(after)) || NAME_BEFORE.test(before);
      if (!SELF_INTRODUCTION.test(before) && !partOfLongerName && !violations.some((v) => v.kind === 'third-person')) {
        violations.push({ kind: 'third-person', detail: match });
      }
      return ' '.repeat(match.length);
    });
  }

  for (const said of factsOf(text)) {
    const known = profile.facts.find((fact) => contradicts(fact, said));
    if (known) {
      violations.push({ kind: 'fact', detail: `${said.topic}: ${said.holds ? '' : 'not '}${said.value}`.trim() });
      break;
    }
  }

  const statements = splitSentences(text);
  for (const line of profile.persona) {
    const lineWords = meaningful(line);
    if (lineWords.words.size < 2) continue;
    for (const statement of statements) {
      if (statement.trim().endsWith('?')) continue;
      const said = meaningful(statement);
      // About the same thing: most words of the shorter of the two are shared (a long persona line
      // is contradicted by a short denial of part of it: "I am not the highest mountain on Earth").
      const shared = [...lineWords.words].filter((word) => said.words.has(word)).length;
      const aboutTheSame = shared >= 2 && shared / Math.min(lineWords.words.size, said.words.size) >= 0.75;
      if (aboutTheSame && said.negated !== lineWords.negated) {
        violations.push({ kind: 'contradiction', detail: statement.trim() });
        break;
      }
    }
  }
  return violations;
}

/** 1 for a reply in character, down to 0 as violations add up. */
export function consistencyScore(violations: readonly Violation[], penalties: Penalties): number {
  const total = violations.reduce((sum, violation) => sum + penalties[violation.kind], 0);
  return Math.max(0, 1 - total);
}

/** Names a persona introduces itself with: "I am Mount Everest" -> "Mount Everest". */
export function selfNamesFrom(persona: readonly string[]): string[] {
  const names = new Set<string>();
  for (const line of persona) {
    for (const match of line.replace(/[’]/g, "'").matchAll(/\bI(?:'m| am) (?:the )?((?:[A-Z][\w-]*)(?: [A-Z][\w-]*)*)/g)) {
      names.add(match[1]);
    }
  }
  return [...names];
}

/** Share of the content words of the persona line closest to `reply` that the reply uses, 0..1. */
export function personaOverlap(reply: string, persona: readonly string[]): number {
  const said = meaningful(reply).words;
  let best = 0;
  for (const line of persona) {
    const words = meaningful(line).words;
    if (words.size === 0) continue;
    best = Math.max(best, [...words].filter((word) => said.has(word)).length / words.size);
  }
  return best;
}

function meaningful(text: string): { words: Set<string>; negated: boolean } {
  const tokens = text.toLowerCase().replace(/[’]/g, "'").match(/[a-z]+(?:'[a-z]+)?/g) ?? [];
  const negated = tokens.some((token) => NEGATION.test(token));
  const words = new Set(tokens.filter((token) => !NEGATION.test(token) && !FILLER.has(token) && !token.includes("'")).map(stemWord));
  return { words, negated };
}

function stemWord(word: string): string {
  return word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word;
}

function splitSentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+/).filter((sentence) => sentence.trim().length > 0);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
