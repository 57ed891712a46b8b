/** Declaring a config section once with the helpers `banter` exports: type, defaults and schema agree. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { applyDefaults, Enum, publishedSchema, StringMap, Type, validatePluginConfig, type Static } from '../../core/index.js';

const Section = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'Required: no default.' }),
    mode: Enum(['fast', 'careful'], { default: 'fast', description: 'A choice with a default.' }),
    limits: Type.Object({ turns: Type.Integer({ minimum: 1, default: 3 }) }, { default: {}, additionalProperties: false }),
    weights: StringMap(Type.Number(), { default: {} }),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const schema = publishedSchema(Section);
const where = { file: 'bot.yaml', path: '/plugins/demo' };

describe('declaring a section', () => {
  it('types defaulted fields as present and optional ones as optional', () => {
    expectTypeOf<Static<typeof Section>>().toEqualTypeOf<{ model: string; mode: 'fast' | 'careful'; limits: { turns: number }; weights: Record<string, number>; note?: string }>();
  });

  it('publishes a schema that requires only the fields without a default, as plain JSON', () => {
    expect(schema).toMatchObject({ type: 'object', required: ['model'], properties: { mode: { enum: ['fast', 'careful'], default: 'fast' } } });
    expect((schema as { properties: { limits: { required?: string[] } } }).properties.limits.required).toBeUndefined();
    expect(Object.getOwnPropertySymbols(schema)).toEqual([]);
  });

  it('gives the same defaults through ajv (core validating a section) and applyDefaults (direct use)', () => {
    const validated = validatePluginConfig('demo', schema, { model: 'm' }, where);
    expect(validated).toEqual({ model: 'm', mode: 'fast', limits: { turns: 3 }, weights: {} });
    expect(applyDefaults(schema, { model: 'm' })).toEqual(validated);
    expect(applyDefaults(schema, { model: 'm', limits: {} })).toEqual(validated);
  });

  it('rejects what the declaration rules out, naming the place', () => {
    expect(() => validatePluginConfig('demo', schema, { mode: 'fast' }, where)).toThrow(/\/plugins\/demo.*model/);
    expect(() => validatePluginConfig('demo', schema, { model: 'm', mode: 'slow' }, where)).toThrow(/fast, careful/);
  });
});
