/**
 * Abuse aimed at a person: threats of violence ("I will slap your face off", "I know where you live")
 * and insults of the person the bot talks to ("you're a loser", "cry harder, fatty", "shut up"). The
 * patterns want the second person as the target, so self-deprecation ("I'm such an idiot"), denial
 * ("you're not stupid") and abuse of things ("this printer is garbage") stay out.
 */
import type { Detection, NormalizedText, TextDetector } from '../detectors.js';
import { bounded, compile, words, type Lexicons } from './lexicons.js';

const MODIFIERS = '(?:(?:a|an|such a|such an|so|really|fucking|fuckin|total|complete|absolute|utter|little|big|fat|stupid|dumb|ugly|pathetic|worthless|useless|the biggest|the dumbest|the worst|one|nothing but a|nothing but an|just a|just an|a real|a fucking|an absolute|a complete|a total|an utter|a stupid|a dumb|a pathetic|a sad|a massive|a huge|a bloody|bloody|damn|goddamn|disgusting|lazy|sad|filthy) )*';

class PatternsDetector implements TextDetector {
  constructor(
    private readonly what: string,
    private readonly patterns: RegExp[],
  ) {}

  detect(text: NormalizedText): Detection | undefined {
    for (const [i, regex] of this.patterns.entries()) {
      regex.lastIndex = 0;
      if (regex.test(text.full)) return { score: 1, evidence: `${this.what} #${i + 1}` };
    }
    return undefined;
  }
}

export function threatDetector(lexicons: Lexicons): TextDetector {
  const K = words(lexicons.violence);
  const I_WILL = "(?:i'?ll|i will|i'?m going to|i am going to|im going to|imma|ima|i'?m gonna|gonna|i want to|i wanna|i'd love to|i would love to|i'm about to|i swear i'?ll|i'?m coming to|i will come and|i'?ll come and|let me|i could|i should|i might|i'?m gonna come|someone should|somebody should|i hope someone|i'll make sure (?:someone|somebody)|we will|we'?re going to|we'?ll)";
  const TARGET = "(?:you|u|ya|yourself|your (?:\\w+ )?(?:face|family|kids|kid|wife|husband|mom|mum|mother|dad|father|dog|cat|head|ass|children|sister|brother|girlfriend|boyfriend|throat|neck|skull|teeth|legs|house|car)|ur (?:face|family|mom|mum|kids))";
  return new PatternsDetector('threat', [
    compile(bounded(`${I_WILL} (?:(?:fucking|just|really|personally|come and|come over and|find you and|hunt you down and|track you down and|go and|gladly|happily|slowly) )*${K} ${TARGET}`)),
    compile(bounded(`${I_WILL} (?:[\\p{L}']+ ){0,5}(?:break|smash|snap|rip off|cut off|bash in|kick in|cave in|slit|cut) (?:your|ur) (?:legs?|neck|arms?|face|jaw|nose|bones|teeth|skull|head|throat|fingers)`)),
    compile(bounded(`(?:you'?re|you are|ur|you will be|you'll be|youre) (?:so |fucking |gonna be |going to be )?(?:dead(?! (?:right|on|serious|tired|good|wrong|cute|funny|sexy|set|last|even|center|centre|ahead|end|heat|weight|easy|simple|lucky|quiet|calm|cool|pleased|happy))|going to die|gonna die|a dead man|dead meat|history|next)`)),
    compile(bounded("(?:i know where you live|watch your back|sleep with one eye open|you(?:'ll| will) regret (?:this|it|that|the day)|i(?:'ll| will) find you|i(?:'ll| will) make you (?:pay|suffer|bleed|regret)|you(?:'re| are) going to (?:pay|suffer|bleed)|you(?:'re| are) gonna (?:pay|suffer|bleed)|i hope you (?:die|get cancer|get raped|get hit|burn|rot|suffer|choke|drown|get shot|get stabbed|never wake up)|die in a (?:fire|hole|ditch)|go die|drop dead|kys|kill yourself|neck yourself|hang yourself|shoot yourself|go jump off a (?:bridge|cliff|roof)|you deserve to (?:die|suffer|be (?:shot|raped|killed|beaten))|i(?:'ll| will) (?:end|ruin|destroy) you|you won'?t see (?:it|me) coming|count your days|your days are numbered)")),
  ]);
}

export function insultDetector(lexicons: Lexicons): TextDetector {
  const N = words(lexicons.insults, true);
  return new PatternsDetector('insult', [
    compile(bounded(`(?:you'?re|you are|ur|u r|you r|youre|you were|you look like|you sound like|you act like|you're acting like|you are acting like|what are you|are you|you must be|you seem like|you're just|you're clearly|you are clearly|you're obviously|you're basically|you are basically|you are just|you're literally) ${MODIFIERS}(?:[\\p{L}]+ (?:and|&) )?${N}`)),
    compile(bounded("(?:you'?re|you are|ur|youre) (?:by far |easily |literally )?the (?:dumbest|stupidest|ugliest|worst|most pathetic|most annoying|most useless|most worthless|biggest (?:idiot|loser|moron|joke|failure|waste)|lamest|saddest|weakest)")),
    compile(bounded(`(?:you|u|ya|shut up|stfu|listen|hey|ok|okay|sure|whatever|bye|lol|haha|yeah|nah|cry harder|cope|seethe|keep crying) ,? ?${MODIFIERS}${N}`)),
    compile(`,\\s*${MODIFIERS}${N}\\s*[.!?]*$`, ),
    compile(bounded("(?:shut (?:the fuck |your (?:\\w+ )?(?:mouth|face|trap) )?up|stfu|fuck (?:you|u|off|yourself)|go fuck yourself|go to hell|screw you|piss off|get lost|eat shit|suck my (?:dick|cock|balls)|bite me|you suck|you stink|nobody asked|no one asked|who asked|nobody cares (?:about you|what you think)|no one (?:likes|loves|cares about) you|nobody (?:likes|loves) you|you have no friends|get a life|cry harder|cry about it|learn to read|can you even read|can't you read|go back to school|are you (?:blind|deaf|dumb|stupid|retarded|slow|brain ?dead)|what'?s wrong with you|you'?re (?:the worst|a waste)|kiss my ass|up yours|your (?:mom|mum|mother) is (?:a |so )|you make me sick|you disgust me|you(?:'re| are) (?:nothing|worthless|pathetic|useless|a nobody)|i hate you|everyone hates you|go away)")),
  ]);
}
