/** banter's built-in detectors, named in rules.yaml as `{ type: builtin, name: ... }`. */
import type { TextDetector } from '../detectors.js';
import { insultDetector, threatDetector } from './abuse.js';
import { EncouragementDetector } from './encouragement.js';
import { IdentityAttackDetector } from './identity.js';
import type { Lexicons } from './lexicons.js';
import { HarmfulRequestDetector, REQUEST_CATEGORIES, type RequestCategory } from './requests.js';
import { ObscenityLists, ProfanityDetector, SlurDetector } from './slurs.js';

export { loadLexicons, SHIPPED_LEXICONS, type Lexicons } from './lexicons.js';

export const BUILTIN_NAMES = ['identity_attack', 'slur', 'profanity', 'threat', 'insult', 'encouragement', ...REQUEST_CATEGORIES.map((c) => `request:${c}`)] as const;

/** Builds each named built-in detector once per checker (they share the lexicons and the obscenity matcher). */
export class BuiltinDetectors {
  private readonly made = new Map<string, TextDetector>();
  private obscenity?: ObscenityLists;

  constructor(private readonly lexicons: Lexicons) {}

  get(name: string): TextDetector {
    let detector = this.made.get(name);
    if (!detector) {
      detector = this.make(name);
      this.made.set(name, detector);
    }
    return detector;
  }

  private make(name: string): TextDetector {
    const lexicons = this.lexicons;
    const obscenity = () => (this.obscenity ??= new ObscenityLists(lexicons));
    if (name.startsWith('request:') && REQUEST_CATEGORIES.includes(name.slice(8) as RequestCategory)) {
      return new HarmfulRequestDetector(name.slice(8) as RequestCategory, lexicons);
    }
    switch (name) {
      case 'identity_attack':
        return new IdentityAttackDetector(lexicons);
      case 'slur':
        return new SlurDetector(obscenity());
      case 'profanity':
        return new ProfanityDetector(obscenity());
      case 'threat':
        return threatDetector(lexicons);
      case 'insult':
        return insultDetector(lexicons);
      case 'encouragement':
        return new EncouragementDetector();
    }
    throw new Error(`safety: no built-in detector "${name}" (built-ins: ${BUILTIN_NAMES.join(', ')})`);
  }
}
