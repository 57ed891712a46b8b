/**
 * Slurs and profanity. Words come from the `obscenity` package's English dataset (maintained upstream; its
 * matcher undoes leetspeak, look-alike characters and repeated letters) plus banter's own slur list. A
 * slur is not an attack when it is a homonym ("fags" for cigarettes in the UK, a "dyke" by the sea, a
 * "chink in the armour", flame "retardant"), reclaimed by the speaker's own group ("as a gay man I call
 * myself queer"), or mentioned rather than used ("he called me a ...", quoted). Profanity that attacks
 * nobody ("Fucking hell, what a day.") is its own, flag-only rule.
 */
import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import type { Detection, NormalizedText, TextDetector } from '../detectors.js';
import { framedAsSaid } from './identity.js';
import { bounded, compile, words, type Lexicons } from './lexicons.js';

/** Uses of a slur's letters that mean something else; matched on the whole text. */
const HOMONYMS: Record<string, RegExp> = {
  fag: /\b(?:cig(?:arette|gie|s)?|smok(?:e|ing|er)|lighter|a pack of|packet of|bum a|spare a|roll(?:ing)? a|uk|british|britain|england|mate|quick fag|fag break|fag end|fag ash)\b/u,
  faggot: /\b(?:meatballs?|gravy|sticks?|firewood|bundles?|kindling|pork|liver|onions?|dinner|recipe|butcher|peas|mash)\b/u,
  dyke: /\b(?:sea|water|flood(?:s|ing)?|dutch|netherlands|holland|levee|embankment|dam|dike|fields?|ditch|farm|polder|canal|dykes on bikes|dyke march)\b/u,
  retard: /\b(?:flame|fire)[\s-]?retardants?\b|\bretard(?:s|ed|ing)? (?:the|its|their|growth|progress|spread|ignition|corrosion|development|rate)\b|\bretardation of\b|\bgrowth[\s-]retard/u,
  chink: /\bchinks? (?:in|of) (?:the|his|her|their|my|our|your|its)? ?(?:armou?r|wall|curtains?|fence|light|glasses|coins|door|clouds?|blinds?|defen[cs]e)\b/u,
  negro: /\b(?:rio|río) negro\b|\bnegro (?:river|modelo|amaro)\b|\b(?:spanish|portuguese|vino|pinot|color|colour)\b/u,
  coon: /\b(?:maine coon|raccoons?|coon ?hounds?|coonhound)\b/u,
  homo: /\bhomo (?:sapiens|erectus|habilis|neanderthalensis|genus)\b/u,
  spastic: /\bspastic (?:paralysis|cerebral palsy|colon|diplegia|muscles?|quadriplegia)\b/u,
  paki: /\bpaki ?stan/u,
  queer: /./u, // "queer" is a slur only when used as an insult (see INSULTING_USE)
  gypsy: /\bgypsy (?:moth|jazz|kings|music|caravan|rose|skirt|style)\b/u,
  redskin: /\b(?:the|washington) redskins\b|\b(?:nfl|football|quarterback|touchdown|team|season|game|coach|playoffs?|super bowl)\b/u,
};
/** A word that is a slur only in an insulting frame ("you queer", "filthy queers"). */
const CONTEXTUAL = new Set(['queer', 'homo', 'gypsy', 'cripple', 'negro', 'spastic', 'tard', 'paki', 'coon']);
const INSULTING_USE = /\b(?:you|u|ya|fucking|fuckin|filthy|dirty|stupid|dumb|bunch of|fat|little|disgusting|damn|typical|go back|hate|kill|hang|gas)\s+(?:\w+\s+)?$/u;
/** The speaker claiming the word for their own group. */
const RECLAIMED = /\b(?:i'?m|i am|we'?re|we are|as|us|we|proud|my|our|fellow|me and my)\s+(?:a\s+|an\s+|being\s+)?(?:proud\s+|happy\s+|big\s+|old\s+|fat\s+|bad\s+|out\s+|loud\s+|queer\s+|black\s+|gay\s+)*$/u;
const IDENTITY_SELF = /\b(?:as a (?:gay|lesbian|queer|trans|bi|bisexual|black|disabled) (?:man|woman|person|guy|girl|kid|people)?|i'?m (?:gay|a lesbian|queer|trans|bi|black)|we (?:gay|queer|black|trans) (?:folks|people))\b/u;

interface Hit {
  word: string;
  start: number;
  end: number;
}

export class ObscenityLists {
  private readonly matcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
  private readonly ownSlurs: RegExp;
  readonly slurs: Set<string>;
  readonly sexual: Set<string>;

  constructor(lexicons: Lexicons) {
    this.slurs = new Set(lexicons.slurs);
    this.sexual = new Set(lexicons.sexual);
    this.ownSlurs = compile(bounded(`(${words(lexicons.slurs)})(?:s|es|z)?`));
  }

  private readonly cache = new Map<string, Hit[]>();

  /** Every word of the dataset (by its original word) and of banter's slur list found in the text. */
  hits(text: string): Hit[] {
    // The slur and profanity detectors read the same text one after the other.
    const cached = this.cache.get(text);
    if (cached) return cached;
    const found = this.find(text);
    if (this.cache.size > 64) this.cache.clear();
    this.cache.set(text, found);
    return found;
  }

  private find(text: string): Hit[] {
    const found: Hit[] = [];
    for (const match of this.matcher.getAllMatches(text, true)) {
      const word = englishDataset.getPayloadWithPhraseMetadata(match).phraseMetadata?.originalWord ?? '';
      found.push({ word, start: match.startIndex, end: match.endIndex + 1 });
    }
    for (const m of text.matchAll(this.ownSlurs)) {
      const word = m[1].replace(/[\s-]+/g, ' ');
      if (!found.some((h) => h.start <= m.index! && h.end >= m.index! + m[0].length)) found.push({ word, start: m.index!, end: m.index! + m[0].length });
    }
    return found;
  }
}

export class SlurDetector implements TextDetector {
  constructor(private readonly lists: ObscenityLists) {}

  detect(text: NormalizedText): Detection | undefined {
    const t = text.full;
    for (const hit of this.lists.hits(t)) {
      if (!this.lists.slurs.has(hit.word)) continue;
      const before = t.slice(Math.max(0, hit.start - 40), hit.start);
      // The dataset names a phrase by its root ("fag" for "faggots"): check the word as written too.
      const written = /^[\p{L}']*/u.exec(t.slice(hit.start))![0].replace(/(?:es|s|'s)$/u, '');
      const forms = [hit.word, written];
      if (forms.some((w) => w !== 'queer' && HOMONYMS[w]?.test(t))) continue;
      if (forms.some((w) => CONTEXTUAL.has(w)) && !INSULTING_USE.test(before)) continue;
      if (RECLAIMED.test(before) || IDENTITY_SELF.test(t)) continue;
      if (framedAsSaid(t, hit.start, hit.end) || /\b(?:the word|the term|the slur|called (?:me|him|her|them|us)|call (?:me|him|her|them|us)|calling (?:me|him|her|them|us|someone|people))\s+(?:a\s+|an\s+)?["“']?$/u.test(before)) continue;
      return { score: 1, evidence: `slur "${hit.word}"` };
    }
    return undefined;
  }
}

/** Profanity that is neither a slur nor a sexual term: flagged, not blocked, unless the owner says so. */
export class ProfanityDetector implements TextDetector {
  constructor(private readonly lists: ObscenityLists) {}

  detect(text: NormalizedText): Detection | undefined {
    const hit = this.lists.hits(text.full).find((h) => !this.lists.slurs.has(h.word) && !this.lists.sexual.has(h.word));
    return hit ? { score: 1, evidence: `profanity "${hit.word}"` } : undefined;
  }
}
