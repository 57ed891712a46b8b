// brevity.js: a third-party plugin written against the package alone. It adds a score (closeness of a
// candidate's length to an ideal), reads a preset's override of that ideal, and logs what it used.
import { PresetSettings } from 'banter';

const schema = { type: 'object', properties: { ideal: { type: 'integer', minimum: 1 } }, additionalProperties: false };

/** @type {() => import('banter').Plugin<{ ideal?: number }>} */
export default () => {
  let settings;
  let logger;
  return {
    name: 'brevity',
    configSchema: schema,
    scores: { brevity: 0.5 },
    setup(bot, config) {
      logger = bot.logger;
      settings = new PresetSettings('brevity', schema, (base, over) => ({ ...base, ...over }), { ideal: 8, ...config });
    },
    score(turn) {
      const { ideal } = settings.for(turn.preset);
      for (const candidate of turn.candidates) candidate.scores.brevity = -Math.abs(candidate.tokens.length - ideal) / ideal;
      logger.info({ ideal, preset: turn.preset.name }, 'brevity scored');
    },
  };
};
