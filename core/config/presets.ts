/** Role presets: files in preset folders, later folders overriding earlier ones by name. */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Preset } from '../types.js';
import type { LoadedConfig } from './types.js';
import { ConfigError, describeValue, pointerJoin } from './errors.js';
import { builtinConfigDir } from './package-root.js';
import { CONFIG_EXTENSIONS, readConfigFile } from './parse.js';
import { validatePresetFile } from './schema.js';

interface PresetFile {
  $schema?: string;
  name?: string;
  description?: string;
  persona: string[];
  greeting: { role: 'user' | 'bot'; text: string }[];
  knowledge: string[];
  decoding: Preset['decoding'];
  plugins: Record<string, unknown>;
  selection: Preset['selection'];
  admission?: Preset['admission'];
}

/** The built-in presets folder, then the config's own folders (resolved against the config's folder). */
export function presetDirs(loaded: LoadedConfig): string[] {
  const dirs = [join(builtinConfigDir(), 'presets'), ...loaded.config.presets.dirs.map((dir) => resolve(loaded.dir, dir))];
  return [...new Set(dirs)];
}

/**
 * Reads every *.yaml, *.yml and *.json in each folder. A preset in a later folder replaces the
 * one of the same name from an earlier folder. Throws a ConfigError listing every problem.
 */
export async function loadPresets(dirs: string[]): Promise<Preset[]> {
  const { presets, problems } = await collectPresets(dirs);
  if (problems.length > 0) throw ConfigError.combine(problems);
  return presets;
}

/** Every preset that loads, and the problems of those that do not. */
export async function collectPresets(dirs: string[]): Promise<{ presets: Preset[]; problems: ConfigError[] }> {
  const byName = new Map<string, Preset>();
  const problems: ConfigError[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => CONFIG_EXTENSIONS.includes(extname(name).toLowerCase())).sort();
    } catch (error) {
      problems.push(new ConfigError({ file: dir, path: '' }, `cannot read the presets folder: ${(error as Error).message}`));
      continue;
    }
    const fromThisDir = new Map<string, string>();
    for (const name of names) {
      const file = join(dir, name);
      try {
        const preset = await readPreset(file);
        const clash = fromThisDir.get(preset.name);
        if (clash) {
          problems.push(new ConfigError({ file, path: '/name' }, `preset "${preset.name}" is also defined by ${clash} in the same folder`));
          continue;
        }
        fromThisDir.set(preset.name, file);
        byName.set(preset.name, preset);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.problems);
      }
    }
  }
  return { presets: [...byName.values()], problems };
}

async function readPreset(file: string): Promise<Preset> {
  const data = await readConfigFile(file, 'preset file');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError({ file, path: '', expected: 'a mapping (name, persona, greeting, ...)', got: describeValue(data) });
  }
  const problems = validatePresetFile(data, file);
  if (problems.length > 0) throw ConfigError.combine(problems);
  const preset = data as PresetFile;

  const knowledge: string[] = [];
  for (const [index, path] of preset.knowledge.entries()) {
    const absolute = resolve(dirname(file), path);
    try {
      await stat(absolute);
    } catch {
      problems.push(new ConfigError({ file, path: pointerJoin('/knowledge', index), expected: 'an existing file or folder (relative to the preset file)', got: `${JSON.stringify(path)} (${absolute})` }));
    }
    knowledge.push(absolute);
  }
  if (problems.length > 0) throw ConfigError.combine(problems);

  return {
    name: preset.name ?? basename(file, extname(file)),
    description: preset.description,
    persona: preset.persona,
    greeting: preset.greeting.map((turn) => ({ role: turn.role, text: turn.text, at: 0 })),
    knowledge,
    decoding: preset.decoding,
    plugins: preset.plugins,
    selection: preset.selection,
    ...(preset.admission ? { admission: preset.admission } : {}),
    file,
  };
}

/** The default preset and every route must name a preset that exists. */
export function presetRoutingProblems(loaded: LoadedConfig, presets: Preset[]): ConfigError[] {
  const file = loaded.file ?? join(loaded.dir, 'bot.yaml');
  const names = presets.map((preset) => preset.name);
  const expected = names.length > 0 ? `one of the presets ${names.join(', ')}` : 'a preset name, but no preset files were found';
  const problems: ConfigError[] = [];
  const { default: defaultPreset, routes } = loaded.config.presets;
  if (!names.includes(defaultPreset)) problems.push(new ConfigError({ file, path: '/presets/default', expected, got: JSON.stringify(defaultPreset) }));
  for (const [prefix, name] of Object.entries(routes)) {
    if (!names.includes(name)) problems.push(new ConfigError({ file, path: pointerJoin('/presets/routes', prefix), expected, got: JSON.stringify(name) }));
  }
  return problems;
}
