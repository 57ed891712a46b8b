/**
 * config/bot.schema.json, the schema editors complete a bot file with: the bot config's own
 * sections (core/config/sections.ts) plus the section of every built-in plugin and adapter, taken
 * from its `configSchema`, so `plugins.mmi` or `adapters.discord` complete as well as `engine`.
 * `npm run schema` writes it; test/config/schema-file.test.ts fails when it is out of date.
 */
import { builtinNames, loadAdapter, loadPlugin } from '../modules.js';
import type { JSONSchema } from '../types.js';
import { packageRoot } from './package-root.js';
import { botConfigSchema } from './sections.js';

/** The switches every entry may carry (core drops them before the module's own schema sees the entry). */
const SWITCHES: Record<string, JSONSchema> = {
  enabled: { description: '`false` turns this entry off (as writing `false` instead of the section does).', type: 'boolean' },
  enabledWhen: { description: 'Start this entry only when this environment variable is set and not empty.', type: 'string', minLength: 1 },
};

export async function completeBotSchema(): Promise<JSONSchema> {
  const schema = structuredClone(botConfigSchema) as JSONSchema & { properties: Record<string, JSONSchema & { properties?: Record<string, JSONSchema> }> };
  const dir = packageRoot();
  const sections = async (kind: 'plugin' | 'adapter', load: (name: string, dir: string) => Promise<{ configSchema?: JSONSchema }>) => {
    const entries: Record<string, JSONSchema> = {};
    for (const name of builtinNames(kind)) entries[name] = entrySchema(kind, name, (await load(name, dir)).configSchema);
    return entries;
  };
  schema.properties.plugins.properties = await sections('plugin', loadPlugin);
  schema.properties.adapters.properties = await sections('adapter', loadAdapter);
  const withReferences = acceptEnvReferences(schema) as JSONSchema & { $defs: Record<string, JSONSchema> };
  withReferences.$defs.envReference = ENV_REFERENCE;
  return withReferences;
}

/** Numbers, booleans and choices may be written as `${VAR}` in a file (substituted, then checked, at load). */
const ENV_REFERENCE: JSONSchema = {
  description: 'A ${VAR} or ${VAR:-default} reference, substituted from the environment when the config is loaded.',
  type: 'string',
  pattern: '^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}$',
};

/** Every value that is not already a string also accepts an environment reference (the runtime schema does not need this). */
function acceptEnvReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(acceptEnvReferences);
  if (!node || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && value && typeof value === 'object') {
      copy.properties = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, referable(acceptEnvReferences(child) as Record<string, unknown>)]));
    } else copy[key] = key === 'default' || key === 'examples' || key === 'enum' ? value : acceptEnvReferences(value);
  }
  return copy;
}

function referable(schema: Record<string, unknown>): Record<string, unknown> {
  const scalar = schema.enum !== undefined || ['integer', 'number', 'boolean'].includes(schema.type as string);
  if (!scalar) return schema;
  const { description, default: fallback, ...value } = schema;
  return { description, ...(fallback === undefined ? {} : { default: fallback }), anyOf: [value, { $ref: '#/$defs/envReference' }] };
}

/** A built-in's entry: its settings (with the switches), or `true`/empty for its defaults, or `false`. */
function entrySchema(kind: string, name: string, configSchema: JSONSchema | undefined): JSONSchema {
  const { $id: _id, $schema: _schema, ...settings } = (configSchema ?? { type: 'object' }) as Record<string, unknown>;
  const properties = settings.properties as Record<string, JSONSchema> | undefined;
  const withSwitches = properties ? { ...settings, properties: { ...properties, ...SWITCHES } } : settings;
  return {
    description: `The built-in ${name} ${kind}: its settings, \`true\` or empty for its defaults, \`false\` to turn it off.`,
    anyOf: [withSwitches, { type: 'boolean' }, { type: 'null' }],
  };
}
