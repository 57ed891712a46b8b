/** Validation of bot configs, presets and plugin/adapter sections with ajv, reported as ConfigErrors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { JSONSchema } from '../types.js';
import { ConfigError, describeFound, pointerJoin, type EnvOrigins } from './errors.js';
import { builtinConfigDir } from './package-root.js';
import { botConfigSchema } from './sections.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = addFormatsModule.default;

function createAjv(): Ajv2020 {
  // coerceTypes: `${PORT}` substitutes a string; the schema decides it is a number.
  const ajv = new Ajv2020({ allErrors: true, useDefaults: true, coerceTypes: true, verbose: true, strictTypes: false, strictTuples: false });
  addFormats(ajv);
  return ajv;
}

const ajv = createAjv();
let botValidator: ValidateFunction | undefined;
let presetValidator: ValidateFunction | undefined;

function readSchema(name: string): JSONSchema {
  return JSON.parse(readFileSync(join(builtinConfigDir(), name), 'utf8')) as JSONSchema;
}

function compileBuiltins(): void {
  // The bot config's schema comes from its declarations (sections.ts); the preset file's refers to it by $id.
  const bot = botConfigSchema;
  const preset = readSchema('preset.schema.json');
  ajv.addSchema(bot);
  ajv.addSchema(preset);
  botValidator = ajv.getSchema(bot.$id as string);
  presetValidator = ajv.getSchema(preset.$id as string);
}

/** Validates a parsed bot config in place (defaults applied, types coerced); returns its problems. */
export function validateBotConfig(value: unknown, file: string, origins?: EnvOrigins): ConfigError[] {
  if (!botValidator) compileBuiltins();
  return runValidator(botValidator!, value, file, '', origins);
}

/** Validates a parsed preset file in place; returns its problems. */
export function validatePresetFile(value: unknown, file: string): ConfigError[] {
  if (!presetValidator) compileBuiltins();
  return runValidator(presetValidator!, value, file, '');
}

const pluginValidators = new WeakMap<JSONSchema, ValidateFunction>();

/**
 * Validates a plugin's or adapter's config section against its `configSchema`, with the same
 * messages as the bot config. Returns a copy with the schema's defaults applied; throws a
 * ConfigError listing every problem. `where.path` is the section's pointer (`/plugins/mmi`).
 */
export function validatePluginConfig<T = unknown>(name: string, schema: JSONSchema, value: unknown, where: { file: string; path: string; origins?: EnvOrigins }): T {
  let validate = pluginValidators.get(schema);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      throw new Error(`${name}: its configSchema is not a valid JSON Schema: ${(error as Error).message}`, { cause: error });
    }
    pluginValidators.set(schema, validate);
  }
  const copy = structuredClone(value ?? {});
  const problems = runValidator(validate, copy, where.file, where.path, where.origins);
  if (problems.length > 0) throw ConfigError.combine(problems);
  return copy as T;
}

function runValidator(validate: ValidateFunction, value: unknown, file: string, base: string, origins?: EnvOrigins): ConfigError[] {
  if (validate(value)) return [];
  return toConfigErrors(validate.errors ?? [], file, base, origins);
}

/**
 * Turns ajv's errors into one ConfigError per offending value. The branch errors of an
 * anyOf/oneOf are folded into one "expected A or B" for the value the combinator is about.
 */
function toConfigErrors(errors: ErrorObject[], file: string, base: string, origins?: EnvOrigins): ConfigError[] {
  const combinators = errors.filter((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf');
  const branchOf = (error: ErrorObject) => combinators.find((c) => c !== error && error.schemaPath.startsWith(`${c.schemaPath}/`));
  const seen = new Set<string>();
  const result: ConfigError[] = [];
  for (const error of errors) {
    if (branchOf(error)) continue;
    let problem: ConfigError;
    if (combinators.includes(error)) {
      const branches = errors.filter((other) => branchOf(other) === error).map((other) => toConfigError(other, file, base, origins));
      const atValue = branches.filter((branch) => branch.path === base + error.instancePath && branch.expected);
      const expected = atValue.length > 0 ? [...new Set(atValue.map((branch) => branch.expected))].join(' or ') : 'one of the allowed forms';
      problem = new ConfigError({ file, path: base + error.instancePath, expected, got: describeFound(error.data, base + error.instancePath, origins) });
    } else {
      problem = toConfigError(error, file, base, origins);
    }
    if (seen.has(problem.message)) continue;
    seen.add(problem.message);
    result.push(problem);
  }
  return result;
}

function toConfigError(error: ErrorObject, file: string, base: string, origins?: EnvOrigins): ConfigError {
  const path = base + error.instancePath;
  const got = describeFound(error.data, path, origins);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return new ConfigError({ file, path, expected: typeName(params.type), got });
    case 'enum':
      return new ConfigError({ file, path, expected: `one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`, got });
    case 'const':
      return new ConfigError({ file, path, expected: JSON.stringify(params.allowedValue), got });
    case 'required': {
      const missing = params.missingProperty as string;
      const propertySchema = (error.parentSchema?.properties as Record<string, Record<string, unknown>> | undefined)?.[missing];
      const expected = propertySchema?.type ? typeName(propertySchema.type) : 'a value';
      return new ConfigError({ file, path: pointerJoin(path, missing), expected, got: 'nothing' }, 'required');
    }
    case 'additionalProperties': {
      const unknown = params.additionalProperty as string;
      const known = Object.keys((error.parentSchema?.properties as object | undefined) ?? {}).filter((key) => key !== '$schema');
      const suggestion = closest(unknown, known);
      const hint = suggestion ? `unknown property; did you mean "${suggestion}"?` : 'unknown property';
      if (known.length === 0) return new ConfigError({ file, path: pointerJoin(path, unknown) }, hint);
      return new ConfigError({ file, path: pointerJoin(path, unknown), expected: `one of ${known.join(', ')}` }, hint);
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return new ConfigError({ file, path, expected: `a number ${params.comparison} ${params.limit}`, got });
    case 'minLength':
      return new ConfigError({ file, path, expected: params.limit === 1 ? 'a non-empty string' : `at least ${params.limit} characters`, got });
    case 'pattern':
      return new ConfigError({ file, path, expected: `a string matching ${params.pattern}`, got });
    default:
      return new ConfigError({ file, path, expected: error.message?.replace(/^must (be )?/, '') ?? 'a valid value', got });
  }
}

const READABLE_TYPES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  null: 'empty',
};

/** `integer`, `object or boolean or null`: the type names as a user reads them. */
function typeName(type: unknown): string {
  const names = (Array.isArray(type) ? type : String(type).split(',')) as string[];
  return names.map((name) => READABLE_TYPES[name] ?? name).join(' or ');
}

/** The known name closest to a typo, when it is close enough to be what was meant. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Edit distance counting a swap of neighbours as one edit (the commonest typo). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}
