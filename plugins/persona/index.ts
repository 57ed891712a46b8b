/**
 * Persona (Hugging Face ConvAI, LaMDA role pre-conditioning): puts the conversation's persona lines
 * into the prompt (the engine renders them in the model's declared format), and scores how well
 * each candidate stays in character as `persona.consistency`, which selection weights.
 */
import { PresetSettings } from '../../core/index.js';
import type { BotHost, JSONSchema, Plugin, Preset, Turn } from '../../core/index.js';
import { type Penalties, type RoleProfile, checkConsistency, consistencyScore, selfNamesFrom } from './consistency.js';

export const CONSISTENCY_SCORE = 'persona.consistency';

export interface PersonaConfig {
  /** The bot plays a character (a preset's role): stepping out of it ("as an AI") is penalized. */
  role: boolean;
  /** Names the role goes by; empty: taken from persona lines such as "I am Mount Everest". */
  selfNames: string[];
  /** Subtracted from 1 per kind of violation found. */
  penalties: Penalties;
}

export type PersonaOverrides = Partial<Omit<PersonaConfig, 'penalties'>> & { penalties?: Partial<Penalties> };

const DEFAULT_CONFIG: PersonaConfig = {
  role: false,
  selfNames: [],
  penalties: { 'third-person': 0.5, 'breaks-role': 1, contradiction: 1 },
};

const penalty = { type: 'number', minimum: 0 };

/** Every field optional: the same schema checks the bot config and each preset's overrides. */
const CONFIG_SCHEMA: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: { type: 'boolean' },
    selfNames: { type: 'array', items: { type: 'string', minLength: 1 } },
    penalties: {
      type: 'object',
      additionalProperties: false,
      properties: { 'third-person': penalty, 'breaks-role': penalty, contradiction: penalty },
    },
  },
};

function merge(base: PersonaConfig, overrides: PersonaOverrides | undefined): PersonaConfig {
  return overrides ? { ...base, ...overrides, penalties: { ...base.penalties, ...overrides.penalties } } : base;
}

export class PersonaPlugin implements Plugin<PersonaOverrides> {
  readonly name = 'persona';
  readonly configSchema = CONFIG_SCHEMA;
  readonly scores = { [CONSISTENCY_SCORE]: 0 };
  private settings = new PresetSettings<PersonaConfig, PersonaOverrides>('persona', CONFIG_SCHEMA, merge, DEFAULT_CONFIG);

  setup(bot: BotHost, config: PersonaOverrides): void {
    this.settings = new PresetSettings('persona', CONFIG_SCHEMA, merge, merge(DEFAULT_CONFIG, config));
    // Check every preset's overrides at start, so a typo fails with its file before any message.
    for (const preset of bot.presets.list()) this.settingsFor(preset);
  }

  settingsFor(preset: Preset): PersonaConfig {
    return this.settings.for(preset);
  }

  /** Who the bot is in this turn: a `/persona` set on the conversation wins over the preset. */
  profileFor(turn: Pick<Turn, 'conversation' | 'preset'>): RoleProfile {
    const custom = turn.conversation.persona;
    if (custom !== undefined) return { persona: custom, role: custom.length > 0, selfNames: selfNamesFrom(custom) };
    const settings = this.settingsFor(turn.preset);
    const selfNames = settings.selfNames.length > 0 ? settings.selfNames : selfNamesFrom(turn.preset.persona);
    return { persona: turn.preset.persona, role: settings.role, selfNames };
  }

  prompt(turn: Turn): void {
    turn.prompt.persona = [...this.profileFor(turn).persona];
  }

  score(turn: Turn): void {
    const profile = this.profileFor(turn);
    if (profile.persona.length === 0 && !profile.role) return;
    const { penalties } = this.settingsFor(turn.preset);
    for (const candidate of turn.candidates) {
      candidate.scores[CONSISTENCY_SCORE] = consistencyScore(checkConsistency(candidate.text, profile), penalties);
    }
  }
}

export default function createPersonaPlugin(): Plugin<PersonaOverrides> {
  return new PersonaPlugin();
}
