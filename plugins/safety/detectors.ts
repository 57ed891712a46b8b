/** Lexicon, pattern and built-in detectors: precise, cheap checks beside the rule models. */
import type { BuiltinDetectors } from './builtin/index.js';
import type { EvasionFolder } from './evasion.js';
import type { Featurizer } from './featurize.js';
import type { DetectorSpec } from './rules.js';

/**
 * A text in the forms detectors read: `full` (lower case, leetspeak, spacing, repeats and disguised
 * words undone), `light` (Unicode folding only) and the words of `full`; `forModels` is what the rule
 * models read: the original, or the plainly written text when a disguise was undone.
 */
export interface NormalizedText {
  raw: string;
  light: string;
  full: string;
  words: string[];
  forModels: string;
}

export function normalizedText(featurizer: Featurizer, folder: EvasionFolder, raw: string): NormalizedText {
  const light = featurizer.normalizer.light(raw);
  const folded = folder.fold(light);
  const full = featurizer.normalizer.full(folded.text);
  return { raw, light, full, words: featurizer.words(full), forModels: folded.disguised ? folded.text : raw };
}

/** A detector hit: the score and what matched (for the trace). */
export interface Detection {
  score: number;
  evidence: string;
}

export interface TextDetector {
  detect(text: NormalizedText): Detection | undefined;
}

/** Whole words or phrases over the normalized word tokens; `term*` matches any word ending. */
class LexiconDetector implements TextDetector {
  private readonly terms: { words: string[]; prefix: boolean; source: string }[];

  constructor(featurizer: Featurizer, terms: string[]) {
    this.terms = terms.map((source) => {
      const prefix = source.endsWith('*');
      const words = featurizer.words(featurizer.normalizer.full(prefix ? source.slice(0, -1) : source));
      if (words.length === 0) throw new Error(`safety lexicon term "${source}" has no words after normalization`);
      return { words, prefix, source };
    });
  }

  detect(text: NormalizedText): Detection | undefined {
    for (const term of this.terms) {
      const last = term.words.length - 1;
      for (let start = 0; start + last < text.words.length; start++) {
        const matches = term.words.every((word, i) => {
          const token = text.words[start + i];
          return i === last && term.prefix ? token.startsWith(word) : token === word;
        });
        if (matches) return { score: 1, evidence: `lexicon "${term.source}"` };
      }
    }
    return undefined;
  }
}

class PatternDetector implements TextDetector {
  private readonly patterns: RegExp[];

  constructor(
    private readonly on: 'full' | 'light',
    patterns: string[],
  ) {
    this.patterns = patterns.map((source) => {
      try {
        return new RegExp(source, 'u');
      } catch (error) {
        throw new Error(`safety pattern /${source}/ is not a valid regular expression: ${(error as Error).message}`, { cause: error });
      }
    });
  }

  detect(text: NormalizedText): Detection | undefined {
    for (const pattern of this.patterns) {
      const match = pattern.exec(text[this.on]);
      // The match itself may be personal data: the trace names the pattern, not the text.
      if (match) return { score: 1, evidence: `pattern #${this.patterns.indexOf(pattern) + 1}` };
    }
    return undefined;
  }
}

/** Builds the text detectors of a rule; `model` detectors are served by the rule models instead. */
export function textDetectors(featurizer: Featurizer, builtins: BuiltinDetectors, specs: DetectorSpec[]): TextDetector[] {
  const out: TextDetector[] = [];
  for (const spec of specs) {
    if (spec.type === 'lexicon') out.push(new LexiconDetector(featurizer, spec.terms));
    if (spec.type === 'pattern') out.push(new PatternDetector(spec.on, spec.patterns));
    if (spec.type === 'builtin') out.push(builtins.get(spec.name));
  }
  return out;
}
