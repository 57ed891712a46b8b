/**
 * Identity attacks: hate aimed at people for a protected characteristic. Patterns over the lexicons:
 * "<group> are <dehumanising term>", harm wished on a group, "I hate <group>", threats against a group,
 * negated praise ("<group> are not human", "no <group> is smart"), hate phrased as a question, and
 * "they are vermin" after a group was named. A match is not hate when it is quoted, or when the
 * sentence frames it as something said and rejected (counter-speech: "If you say ... you are a bigot").
 */
import type { Detection, NormalizedText, TextDetector } from '../detectors.js';
import { bounded, clauseAfter, clauseBefore, compile, groupPattern, groupTriggers, inside, quotedSpans, words, type Lexicons } from './lexicons.js';

const INTENSIFIERS = "(?:(?:a|an|as|all|just|nothing but|basically|literally|simply|such|so|really|truly|fucking|fuckin|bloody|damn|a bunch of|a pack of|the|total|complete|absolute|utter|like|mostly|always|clearly|obviously|still|naturally|inherently|genetically|born|disgusting|filthy|dirty|worthless|stupid|dumb) )*";
const QUANTIFIERS = '(?:(?:all|most|these|those|the|you|fucking|filthy|dirty|damn|bloody|stupid|every single|any|some|many|so many|too many) )*';
const WANT = "(?:i (?:really |just |fucking |seriously |would |'d )?(?:want|wanna|am going|'m going|'m gonna|am gonna|gonna|plan|would love|'d love|will|'ll|should|need|intend|hope|wish|can't wait)(?: to)?|let's|lets|we (?:should|must|need to|have to|will|ought to)|(?:someone|somebody|people|everyone) (?:should|needs to|must)|time to|it's time to)";
/** Negation before a hateful sentence denies it ("I don't think women are scum"); it does not excuse a slur. */
const NEGATIONS = [
  String.raw`\bdon'?t\b`,
  String.raw`\bdo not\b`,
  String.raw`\bdoesn'?t\b`,
  String.raw`\bnever\b`,
  String.raw`\bstop\b`,
];
/** Framing that reports, quotes or rebuts what follows. */
const REPORTING = [
  String.raw`\bsay(?:s|ing)?\b`, String.raw`\bsaid\b`, String.raw`\bclaim(?:s|ing|ed)?\b`,
  String.raw`\bthink(?:s|ing)? that\b`, String.raw`\bbelieve(?:s)? that\b`, String.raw`\bthe idea that\b`,
  String.raw`\bthe claim that\b`, String.raw`\bthe lie that\b`, String.raw`\bthe myth that\b`,
  String.raw`\bwrong\b`, String.raw`\bnot ok(?:ay)?\b`, String.raw`\bnot true\b`, String.raw`\bisn'?t true\b`,
  String.raw`\bnobody should\b`, String.raw`\bno one should\b`, String.raw`\bshouldn'?t\b`,
  String.raw`\bcan'?t believe\b`, String.raw`\bhow dare\b`, String.raw`\bcondemn\b`,
  String.raw`\breport(?:ed|ing)?\b`, String.raw`\bbanned\b`, String.raw`\bposted\b`, String.raw`\bwrote\b`,
  String.raw`\bwrites\b`, String.raw`\btweeted\b`, String.raw`\bshouted\b`, String.raw`\byelled\b`,
  String.raw`\bcalled\b`, String.raw`\bcalling\b`, String.raw`\bif you\b`, String.raw`\bpeople who\b`,
  String.raw`\banyone who\b`, String.raw`\bthose who\b`, String.raw`\bwho (?:thinks?|says?|believes?)\b`,
  String.raw`\bhateful\b`, String.raw`\bbigot(?:ed|s|ry)?\b`, String.raw`\bracis[tm]\b`,
  String.raw`\bsexis[tm]\b`, String.raw`\bhomophob\w*\b`, String.raw`\btransphob\w*\b`,
  String.raw`\bpropaganda\b`, String.raw`\bmyth\b`, String.raw`\bstereotype\b`, String.raw`\bagainst\b`,
  String.raw`\bunacceptable\b`, String.raw`\bdisgusting to\b`, String.raw`\bsign said\b`,
  String.raw`\bhear(?:ing|d)? (?:that|people say|someone say)\b`, String.raw`\bslogans? like\b`,
  String.raw`\bstatements? like\b`, String.raw`\bwords? like\b`, String.raw`\bthings like\b`,
];
const COUNTER_BEFORE = new RegExp(`(?:${[...NEGATIONS, ...REPORTING].join('|')})`, 'u');
const COUNTER_AFTER = /^\W*(?:is|was|are|were|'s)\s+(?:a\s+|an\s+|just\s+|so\s+|pure\s+|plain\s+)*(?:wrong|hateful|bigoted|bigotry|racist|racism|sexist|sexism|homophobic|transphobic|disgusting|vile|unacceptable|a lie|lies|false|not true|untrue|bullshit|nonsense|hate speech|offensive|cruel|ignorant|propaganda|a myth|a stereotype|harmful)|^\W*(?:,\s*)?(?:then\s+)?you(?:'re| are)\s+(?:a\s+)?(?:bigot|racist|sexist|homophobe|transphobe|the problem)/u;

export class IdentityAttackDetector implements TextDetector {
  private readonly patterns: { regex: RegExp; what: string }[];
  private readonly groupMention: RegExp;
  private readonly pronounAttack: RegExp;
  private readonly triggers: Set<string>;

  constructor(lexicons: Lexicons) {
    const G = groupPattern(lexicons);
    this.triggers = groupTriggers(lexicons);
    const D = words(lexicons.dehumanising);
    const H = words(lexicons.harms);
    const V = words(lexicons.hate_verbs);
    const K = words(lexicons.violence);
    const P = words(lexicons.praise);
    const BE = "(?:are|r|is|were|be|being|=|'re|'s|are becoming|have become|remain|will always be|always will be|will forever be|are and always will be|seem|look like|act like|behave like|breed like)";
    const SHOULD = "(?:should|must|need to|needs to|ought to|deserve to|deserves to|have to|has to|are going to|will|should all|must all|all deserve to|all need to|need to all|can all)";
    const NOT = "(?:are not|aren't|arent|r not|is not|isn't|isnt|are never|will never be|can never be|could never be|were never|can't be|cannot be|shouldn't be considered|don't count as|do not count as|aren't even|are not even|are no longer|are less than)";
    const group = `${QUANTIFIERS}${G}`;
    this.patterns = [
      { what: 'group called dehumanising', regex: compile(bounded(`${group} ${BE} ${INTENSIFIERS}${D}`)) },
      { what: 'harm wished on a group', regex: compile(bounded(`${group} ${SHOULD} (?:all |just |simply |be |get |all be |be all |fucking |be fucking )*${H}`)) },
      { what: 'harm wished on a group', regex: compile(bounded(`${group} ${SHOULD} (?:all |just )?(?:die|suffer|rot|burn|perish|disappear|vanish|not exist|not be allowed to (?:live|exist|vote|work|marry|breed)|go back (?:to|where)|be (?:wiped|rounded up|put down)|stop existing|be banned|hang|drown)`)) },
      { what: 'hatred of a group', regex: compile(bounded(`i (?:really |truly |just |fucking |totally |honestly |absolutely |seriously |so |deeply |still |do )*${V} ${QUANTIFIERS}${G}`)) },
      { what: 'violence against a group', regex: compile(bounded(`${WANT} ${K} ${QUANTIFIERS}(?:every |each )?${G}`)) },
      { what: 'violence against a group', regex: compile(bounded(`(?:death to|kill all|kill every|kill the|exterminate|gas (?:the|all)|hang (?:all|the)|eradicate|get rid of (?:all |the |every )?|down with|no more|wipe out (?:all |the )?|round up (?:all |the )?|deport (?:all|every|the)|ban all) ${QUANTIFIERS}${G}`)) },
      { what: 'violence against a group', regex: compile(bounded(`(?:kill|murder|shoot|gas|hang|exterminate|slaughter|execute|burn) (?:every|all|each) (?:last |single )?(?:one )?(?:of )?(?:the |those |these )?${G}`)) },
      { what: 'violence against a group', regex: compile(bounded(`${WANT} (?:go )?(?:round up|gather|find|hunt down|line up|catch|grab|get) ${QUANTIFIERS}${G}(?: [\\p{L}']+){0,4} (?:and|then) (?:${K}|beat (?:them|\\w+) up|shoot them|kill them|hang them|burn them)`)) },
      { what: 'harm wished on a group', regex: compile(bounded(`(?:i(?:'d| would) love to|i want to|i wanna|i wish i could|i hope to|i can't wait to|i'd like to|i hope (?:i get to|to)) see ${QUANTIFIERS}${G}(?: [\\p{L}']+){0,5} (?:get |be )?(?:hurt|killed|die|dead|suffer|${H})`)) },
      { what: 'harm wished on a group', regex: compile(bounded(`i hope ${QUANTIFIERS}${G}(?: [\\p{L}']+){0,3} (?:all )?(?:die|suffer|get hurt|get killed|burn|rot|get (?:${H}))`)) },
      { what: 'negated praise of a group', regex: compile(bounded(`(?:i'?ve |i have )?never (?:met|seen|known) (?:a|an|one|any) ${G} (?:who|that) (?:was|is|were|could be|can be) ${INTENSIFIERS}${P}`)) },
      { what: 'a group as a problem to remove', regex: compile(bounded(`(?:the world|this country|the country|society|we|everyone|everything|earth|the planet|life|this town|our country|our society|the human race|humanity) (?:would be|is|are|will be|'d be|'s|could be) (?:so much |much |a lot |far )?(?:a )?(?:(?:much |so much |far )?better|nicer|safer|cleaner) (?:off |place |world |country )?without (?:any )?${QUANTIFIERS}${G}`)) },
      { what: 'negated praise of a group', regex: compile(bounded(`${group} ${NOT} ${INTENSIFIERS}${P}`)) },
      { what: 'negated praise of a group', regex: compile(bounded(`(?:no|not a single|not one|never met a|never met an|there is no such thing as a|there's no such thing as a|name one) ${G} (?:is|are|can be|will ever be|could ever be|who is|that is|has ever been|deserves?|has any|worth) ${INTENSIFIERS}${P}`)) },
      { what: 'distrust of a group', regex: compile(bounded(`(?:never trust (?:a|an|any|the)|don't trust (?:a|an|any)|can't trust (?:a|an|any)) ${G}|${group} (?:can't|cannot|can never|should never) be trusted`)) },
      { what: 'a group as a problem to remove', regex: compile(bounded(`${group} (?:make me (?:sick|want to puke|want to vomit)|disgust me|should not exist|shouldn't exist|don't belong (?:here|anywhere|in this country|among us)|do not belong|have no place in|are a problem|are the problem|are ruining|ruin everything|are taking over|are invading|are a threat|belong in (?:cages|camps|zoos|the kitchen|chains|prison|jail|the gutter|the trash)|are not welcome|aren't welcome|are not allowed|are a drain|are breeding like|have no rights|deserve no rights|don't deserve (?:rights|to live|to exist|respect|to be here|anything))`)) },
      { what: 'hate as a question', regex: compile(bounded(`(?:why (?:are|do|must|is it that|are all|would anyone)|aren't|arent|isn't it (?:obvious|clear|true) that|isn't it a fact that|don't you think|wouldn't you agree|can we agree that|is it not (?:obvious|clear|true) that) ${group} (?:are |is |so |always |such |all |just |act |so fucking )*${D}`)) },
    ];
    this.groupMention = compile(bounded(G));
    this.pronounAttack = compile(bounded(`(?:they|them|those people|these people|their kind|that lot|such people|people like (?:them|that))(?: are| r|['’]re| should (?:all )?be| deserve to be| must be| need to be| are all) ${INTENSIFIERS}(?:${D}|${H})`));
  }

  detect(text: NormalizedText): Detection | undefined {
    // Every pattern names a group: a text without a group word is skipped (most replies are).
    if (!text.words.some((word) => this.triggers.has(word))) return undefined;
    const t = text.full;
    const quoted = quotedSpans(t);
    const said = (start: number, end: number) => !inside(quoted, start, end) && !COUNTER_BEFORE.test(clauseBefore(t, start)) && !COUNTER_AFTER.test(t.slice(end));
    for (const { regex, what } of this.patterns) {
      for (const m of t.matchAll(regex)) {
        if (said(m.index!, m.index! + m[0].length)) return { score: 1, evidence: `identity attack: ${what}` };
      }
    }
    this.groupMention.lastIndex = 0;
    if (this.groupMention.test(t)) {
      for (const m of t.matchAll(this.pronounAttack)) {
        if (said(m.index!, m.index! + m[0].length)) return { score: 1, evidence: 'identity attack: a named group called dehumanising' };
      }
    }
    return undefined;
  }
}

const REPORTED_BEFORE = new RegExp(`(?:${REPORTING.join('|')})`, 'u');

/** For the slur detector: a word quoted, reported or rebutted, not used. */
export const framedAsSaid = (text: string, start: number, end: number) =>
  inside(quotedSpans(text), start, end) || REPORTED_BEFORE.test(clauseBefore(text, start)) || COUNTER_AFTER.test(clauseAfter(text, end));
