/** Loads a bot config file: parse, `${ENV}` substitution, schema validation with defaults, checks. */
import { dirname, join, resolve } from 'node:path';
import type { BotConfig, LoadedConfig } from './types.js';
import { ConfigError, describeFound, describeValue, maskValues, type EnvOrigins } from './errors.js';
import { isDisabled, substituteEnv } from './env.js';
import { builtinConfigDir } from './package-root.js';
import { readConfigFile } from './parse.js';
import { validateBotConfig } from './schema.js';

export interface LoadConfigOptions {
  /** Variables for `${VAR}` substitution; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** The embedded default config (config/bot.yaml in the package). */
export function defaultConfigFile(): string {
  return join(builtinConfigDir(), 'bot.yaml');
}

/**
 * Loads `file` (YAML or JSON by extension), or the embedded default without one. Throws a
 * ConfigError naming the file, the JSON pointer and what was expected; when a pass finds several
 * problems they are all in `error.problems` and in the message.
 */
export async function loadConfig(file?: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const path = file ? resolve(file) : defaultConfigFile();
  const raw = await readConfigFile(path, 'config file');
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError({ file: path, path: '', expected: 'a mapping of settings (engine, decoding, history, ...)', got: describeValue(raw) });
  }
  const data = raw as Record<string, unknown>;

  const { problems: envProblems, warnings, origins } = substituteEnv(data, path, options.env ?? process.env);
  normalizeToggledSections(data, options.env ?? process.env);
  // A value whose variable is unset was left as written; its schema errors would only repeat that.
  const unresolved = new Set(envProblems.map((problem) => problem.path));
  const schemaProblems = validateBotConfig(data, path, origins).filter((problem) => !unresolved.has(problem.path));
  const problems = [...envProblems, ...schemaProblems];
  if (schemaProblems.length === 0) problems.push(...crossFieldProblems(data as unknown as BotConfig, path, origins));
  if (problems.length > 0) throw ConfigError.combine(problems);

  delete data.$schema;
  applyDeprecations(data as unknown as BotConfig, warnings);
  return { config: data as unknown as BotConfig, file: file ? path : undefined, dir: dirname(path), warnings, origins };
}

/**
 * Plugins and adapters: `false`, `enabled: false` or an unmet `enabledWhen` -> `false`; `true` or
 * empty -> `{}`; the switches are dropped from enabled sections so their own schemas never see them.
 */
function normalizeToggledSections(data: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const sectionName of ['plugins', 'adapters']) {
    const section = data[sectionName];
    if (section === null || typeof section !== 'object' || Array.isArray(section)) continue;
    const entries = section as Record<string, unknown>;
    for (const [name, value] of Object.entries(entries)) {
      if (isDisabled(value, env)) entries[name] = false;
      else if (value === true || value === null) entries[name] = {};
      else if (typeof value === 'object' && !Array.isArray(value) && ('enabled' in value || 'enabledWhen' in value)) {
        const { enabled: _enabled, enabledWhen: _enabledWhen, ...rest } = value as Record<string, unknown>;
        entries[name] = rest;
      }
    }
  }
}

/** Old spellings still read, with a warning that names the new one. */
function applyDeprecations(config: BotConfig, warnings: string[]): void {
  const engine = config.engine;
  if (engine.cudaFallback !== undefined) {
    warnings.push('engine.cudaFallback is deprecated: write engine.fallback: cpu (was true) or fail (was false)');
    engine.fallback ??= engine.cudaFallback ? 'cpu' : 'fail';
    delete engine.cudaFallback;
  }
  engine.fallback ??= 'cpu';
}

/** Rules a schema cannot say across fields. */
function crossFieldProblems(config: BotConfig, file: string, origins: EnvOrigins): ConfigError[] {
  const problems: ConfigError[] = [];
  const { minNewTokens, maxNewTokens } = config.decoding;
  if (minNewTokens > maxNewTokens) {
    problems.push(new ConfigError({ file, path: '/decoding/minNewTokens', expected: `at most maxNewTokens (${maskValues(String(maxNewTokens), origins)})`, got: describeFound(minNewTokens, '/decoding/minNewTokens', origins) }));
  }
  return problems;
}
