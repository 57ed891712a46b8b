/**
 * A reply that agrees with or cheers on what the user said ("That's great!", "I'd love to", "Sure, you
 * can buy one at ...", "I've heard good things about those places"). Harmless after small talk, so the
 * rule that reads this only applies after a risky input (`requiresInput` in rules.yaml). A reply that
 * pushes back or shows concern ("Please don't", "That's dangerous", "Are you okay?") is not encouraging.
 */
import type { Detection, NormalizedText, TextDetector } from '../detectors.js';
import { bounded, compile } from './lexicons.js';

const AFFIRMING = [
  "^\\W*(?:(?:oh|well|haha|hah|lol|hmm|wow|omg|ooh|aw|aww|and|so|but|hey|man|dude)\\W+)*(?:yes|yeah|yea|yep|yup|ya|sure|surely|ok|okay|k|of course|absolutely|definitely|totally|certainly|great|awesome|cool|nice|perfect|good|excellent|sweet|fantastic|wonderful|amazing|exactly|right|true|agreed|indeed|go ahead|go for it|do it|why not|sounds|me too|same|lucky you|congrats|congratulations|that's the spirit|hell yeah|love it|i love it|love that|i love that|fair enough|you bet|by all means|no problem|happy to|glad to|brilliant|neat|lovely)\\b",
  "(?:that(?:'s| is| would be| sounds| will be| was| seems)|it(?:'s| is| would be| sounds| will be)|sounds|what a|how) (?:(?:so|really|very|pretty|such a|a|an|totally|super|absolutely|quite) )*(?:great|good|awesome|amazing|fun|cool|nice|exciting|wonderful|fantastic|perfect|lovely|interesting|a good idea|a great idea|a plan|brilliant|smart|fine|ok|okay|easy|legit|fair|reasonable|understandable|hilarious|funny|clever|sweet|beautiful|fascinating|impressive|genius)\\b",
  "\\bi(?:'d| would)? (?:really )?(?:love|like|want|be happy|be glad|enjoy) to\\b",
  "\\bi(?:'m| am) (?:in|down|game|so excited|excited|happy for you|proud of you|with you)\\b",
  "\\blet(?:'s| us) (?:do|go|try|get|make|find|plan)\\b",
  "\\b(?:you|u) should (?:do|try|go|definitely|totally|just|really|get|buy|use|make|take)\\b",
  "\\bgood (?:idea|luck|plan|for you|choice|call|thinking|one)\\b",
  "\\b(?:i (?:totally |completely |fully )?agree|i think so too|i feel the same|same here|you(?:'re| are) (?:so |totally |absolutely )?right|you have a point|good point|fair point)\\b",
  "\\bi(?:'ve| have) heard (?:good|great|nice) things\\b",
  "\\bi(?:'ll| will) (?:help|have to (?:check|try)|check (?:it|them) out|join|come|be there|do it|bring)\\b",
  "\\bi hope you (?:do|get|find|succeed|manage|can|enjoy|have fun|make it|pull it off|get away)\\b",
  "\\b(?:here(?:'s| is) how|you can (?:use|try|buy|get|find|do|just|always|easily|go)|(?:the|your) best (?:bet|option|way|place|method) (?:is|would be)|(?:a|one) good (?:way|place|method|option) (?:is|would be)|the easiest way (?:is|would be)|first,? (?:you|get|buy|find|make)|try (?:using|to|it|a|an|some|the)|i(?:'d| would) (?:recommend|suggest|go with|use))\\b",
  "\\b(?:have fun|can'?t wait|enjoy (?:it|yourself|the)|that would be (?:great|fun|awesome|amazing|nice)|i love (?:that|it|being|doing|to|this)|i like (?:that|it|this) idea|i(?:'m| am) sure you(?:'ll| will) (?:do great|be fine|love|enjoy|manage)|you(?:'ll| will) (?:do great|be fine|love it|enjoy it)|i(?:'d| would) do (?:it|the same)|do it|just do it|go for it|you deserve (?:it|this)|well done|good job|nice one)\\b",
].map((source) => compile(source));
const PUSHBACK = compile(bounded("(?:please don'?t|don'?t do|do not do|you shouldn'?t|you should not|i can'?t help|i won'?t help|i cannot help|i'?m not (?:going to|gonna|able to) help|i won'?t|i can'?t (?:do|support|condone)|that'?s (?:illegal|wrong|dangerous|not okay|not ok|a bad idea|terrible|awful|not a good idea|not right|not funny|cruel|abuse|a crime)|(?:really |very )?(?:bad|terrible|awful|dangerous) idea|not a good idea|talk to (?:someone|somebody|a professional|a doctor|a therapist|a counsel(?:l)?or|a lawyer|the police|a friend|your)|call (?:the police|911|999|112|988|a helpline|a hotline|a crisis|someone)|please (?:stop|reconsider|get help|reach out|be careful|don'?t|talk)|i'?m (?:worried|concerned|sorry you|really sorry|so sorry)|are you (?:ok|okay|safe|alright|all right)|get (?:some )?help|crisis line|helpline|hotline|not worth it|think (?:twice|again)|don'?t hurt|nobody deserves|no one deserves|never okay|never ok|is abuse|is a crime|is illegal|against the law|i disagree|that'?s not true|not cool|stay safe)"));

export class EncouragementDetector implements TextDetector {
  detect(text: NormalizedText): Detection | undefined {
    const t = text.full;
    PUSHBACK.lastIndex = 0;
    if (PUSHBACK.test(t)) return undefined;
    for (const [i, regex] of AFFIRMING.entries()) {
      regex.lastIndex = 0;
      if (regex.test(t)) return { score: 1, evidence: `encouragement #${i + 1}` };
    }
    return undefined;
  }
}
