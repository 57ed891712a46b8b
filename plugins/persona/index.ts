/**
 * Persona (Hugging Face ConvAI, LaMDA role pre-conditioning): puts the conversation's persona lines
 * into the prompt (the engine renders them in the model's declared format), scores how well each
 * candidate stays in character (`persona.consistency`), how closely it keeps to a persona line
 * (`persona.overlap`) and whether it states a persona fact as the persona does (`persona.facts`),
 * and rejects candidates that state a fact the persona rules out ("I am vegan." -> "I love
 * pepperoni pizza!"): such a reply is wrong whatever else it has going for it. Candidates with a
 * template placeholder from training data ("Hi, I'm user1.") are rejected too (placeholders.ts).
 */
import { PresetSettings } from '../../core/index.js';
import type { BotHost, JSONSchema, Plugin, Preset, Turn } from '../../core/index.js';
import { type Penalties, type RoleProfile, checkConsistency, consistencyScore, personaOverlap, selfNamesFrom } from './consistency.js';
import { type Fact, agrees, askedTopic, contradicts, factsOf } from './facts.js';
import { findPlaceholder } from './placeholders.js';

export const CONSISTENCY_SCORE = 'persona.consistency';
export const OVERLAP_SCORE = 'persona.overlap';
export const FACTS_SCORE = 'persona.facts';

export interface PersonaConfig {
  /** The bot plays a character (a preset's role): stepping out of it ("as an AI") is penalized. */
  role: boolean;
  /** Names the role goes by; empty: taken from persona lines such as "I am Mount Everest". */
  selfNames: string[];
  /** Subtracted from 1 per kind of violation found. */
  penalties: Penalties;
  /** Reject candidates that contradict a persona fact (name, age, family, pets, job, diet, home). */
  rejectContradictions: boolean;
}

export type PersonaOverrides = Partial<Omit<PersonaConfig, 'penalties'>> & { penalties?: Partial<Penalties> };

const DEFAULT_CONFIG: PersonaConfig = {
  role: false,
  selfNames: [],
  penalties: { 'third-person': 0.5, 'breaks-role': 1, contradiction: 1, fact: 1 },
  rejectContradictions: true,
};

const penalty = { type: 'number', minimum: 0 };

/** Every field optional: the same schema checks the bot config and each preset's overrides. */
const CONFIG_SCHEMA: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: { type: 'boolean' },
    selfNames: { type: 'array', items: { type: 'string', minLength: 1 } },
    rejectContradictions: { type: 'boolean' },
    penalties: {
      type: 'object',
      additionalProperties: false,
      properties: { 'third-person': penalty, 'breaks-role': penalty, contradiction: penalty, fact: penalty },
    },
  },
};

function merge(base: PersonaConfig, overrides: PersonaOverrides | undefined): PersonaConfig {
  return overrides ? { ...base, ...overrides, penalties: { ...base.penalties, ...overrides.penalties } } : base;
}

export class PersonaPlugin implements Plugin<PersonaOverrides> {
  readonly name = 'persona';
  readonly configSchema = CONFIG_SCHEMA;
  readonly scores = { [CONSISTENCY_SCORE]: 0, [OVERLAP_SCORE]: 0, [FACTS_SCORE]: 0 };
  /** The bot's own name (bot config `name`): its name when the persona gives none. */
  private botName?: string;
  private settings = new PresetSettings<PersonaConfig, PersonaOverrides>('persona', CONFIG_SCHEMA, merge, DEFAULT_CONFIG);

  setup(bot: BotHost, config: PersonaOverrides): void {
    this.settings = new PresetSettings('persona', CONFIG_SCHEMA, merge, merge(DEFAULT_CONFIG, config));
    this.botName = bot.name;
    // Check every preset's overrides at start, so a typo fails with its file before any message.
    for (const preset of bot.presets.list()) this.settingsFor(preset);
  }

  settingsFor(preset: Preset): PersonaConfig {
    return this.settings.for(preset);
  }

  /** Who the bot is in this turn: a `/persona` set on the conversation wins over the preset. */
  profileFor(turn: Pick<Turn, 'conversation' | 'preset'>): RoleProfile {
    const custom = turn.conversation.persona;
    if (custom !== undefined) return { persona: custom, role: custom.length > 0, selfNames: selfNamesFrom(custom), facts: personaFacts(custom) };
    const settings = this.settingsFor(turn.preset);
    const selfNames = settings.selfNames.length > 0 ? settings.selfNames : selfNamesFrom(turn.preset.persona);
    return { persona: turn.preset.persona, role: settings.role, selfNames, facts: personaFacts(turn.preset.persona, this.botName) };
  }

  prompt(turn: Turn): void {
    turn.prompt.persona = [...this.profileFor(turn).persona];
  }

  score(turn: Turn): void {
    const profile = this.profileFor(turn);
    if (profile.persona.length === 0 && !profile.role) return;
    const { penalties } = this.settingsFor(turn.preset);
    for (const candidate of turn.candidates) {
      const violations = checkConsistency(candidate.text, profile);
      candidate.scores[CONSISTENCY_SCORE] = consistencyScore(violations, penalties);
      candidate.scores[OVERLAP_SCORE] = personaOverlap(candidate.text, profile.persona);
      candidate.scores[FACTS_SCORE] = factsOf(candidate.text).some((said) => profile.facts.some((known) => agrees(known, said))) ? 1 : 0;
    }
  }

  filter(turn: Turn): void {
    for (const candidate of turn.candidates) {
      const placeholder = candidate.rejected ? undefined : findPlaceholder(candidate.text);
      if (placeholder) candidate.rejected = { by: this.name, reason: `template placeholder "${placeholder}"` };
    }
    if (!this.settingsFor(turn.preset).rejectContradictions) return;
    const profile = this.profileFor(turn);
    if (profile.facts.length === 0) return;
    for (const candidate of turn.candidates) {
      if (candidate.rejected) continue;
      const said = factsOf(candidate.text).find((fact) => profile.facts.some((known) => contradicts(known, fact)));
      if (said) candidate.rejected = { by: this.name, reason: `contradicts the persona's ${said.topic}` };
    }
    const answer = this.answerFromPersona(turn, profile);
    if (answer) turn.candidates.push({ text: answer, tokens: [], logprob: 0, avgLogprob: 0, scores: { [FACTS_SCORE]: 1 } });
  }

  /**
   * Every candidate is out and some contradicted the persona on the fact the user asked about
   * ("What's your name?" -> eight times "My name is George."): the persona's own line for that
   * fact answers better than the fallback. Undefined when anything survived, or safety (not the
   * persona) emptied the turn.
   */
  private answerFromPersona(turn: Turn, profile: RoleProfile): string | undefined {
    if (turn.candidates.some((c) => !c.rejected) || !turn.candidates.some((c) => c.rejected?.by === this.name)) return undefined;
    const topic = askedTopic(turn.message.text);
    if (!topic) return undefined;
    const line = profile.persona.find((text) => factsOf(text).some((fact) => fact.topic === topic));
    const name = profile.facts.find((fact) => fact.topic === 'name')?.value;
    if (line) return line;
    return topic === 'name' && this.botName && name === this.botName.toLowerCase() ? `My name is ${this.botName}.` : undefined;
  }
}

/** The persona's facts; its name is the bot's own when no line gives one. */
function personaFacts(persona: readonly string[], botName?: string): Fact[] {
  const facts = persona.flatMap(factsOf);
  if (botName && !facts.some((fact) => fact.topic === 'name')) facts.push({ topic: 'name', value: botName.toLowerCase(), holds: true });
  return facts;
}

export default function createPersonaPlugin(): Plugin<PersonaOverrides> {
  return new PersonaPlugin();
}
