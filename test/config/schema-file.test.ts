/**
 * config/bot.schema.json is generated (`npm run schema`) from the config sections' declarations and
 * the built-in plugins' and adapters' own schemas: the checked-in file must be what they give now,
 * and an editor using it must accept the shipped bot file as written and catch a mistyped section.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { completeBotSchema } from '../../core/config/complete-schema.js';
import { builtinConfigDir } from '../../core/config/package-root.js';
import { builtinNames } from '../../core/modules.js';

const file = JSON.parse(readFileSync(join(builtinConfigDir(), 'bot.schema.json'), 'utf8'));
const editor = new Ajv2020({ allErrors: true, strict: false }).compile(file);

describe('config/bot.schema.json', () => {
  it('is up to date with the declarations (run `npm run schema` after changing a config section)', async () => {
    expect(file).toEqual(await completeBotSchema());
  }, 60_000);

  it('has a section for every built-in plugin and adapter', () => {
    expect(Object.keys(file.properties.plugins.properties)).toEqual(builtinNames('plugin'));
    expect(Object.keys(file.properties.adapters.properties)).toEqual(builtinNames('adapter'));
    expect(builtinNames('adapter')).toEqual(expect.arrayContaining(['discord', 'slack', 'terminal', 'web']));
  });

  it('accepts the shipped bot file as written, ${VAR} references included', () => {
    const shipped = parse(readFileSync(join(builtinConfigDir(), 'bot.yaml'), 'utf8'));
    expect(editor(shipped), JSON.stringify(editor.errors)).toBe(true);
  });

  it('catches mistakes inside plugin and adapter sections', () => {
    const base = { engine: { model: 'm' } };
    expect(editor({ ...base, adapters: { discord: { tokn: '${DISCORD_TOKEN}' } } })).toBe(false);
    expect(editor.errors?.some((error) => error.instancePath === '/adapters/discord' && error.keyword === 'additionalProperties')).toBe(true);
    expect(editor({ ...base, adapters: { web: { port: 'eighty' } } })).toBe(false);
    expect(editor({ ...base, plugins: { mmi: { model: 5 } } })).toBe(false);
    expect(editor({ ...base, plugins: { mmi: true, persona: null, safety: false, './mine.js': { any: 1 } } })).toBe(true);
    expect(editor({ ...base, adapters: { discord: { enabledWhen: 'DISCORD_TOKEN', token: '${DISCORD_TOKEN}' } } })).toBe(true);
  });
});
