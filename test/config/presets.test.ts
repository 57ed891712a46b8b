import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../core/config/errors.js';
import { loadConfig } from '../../core/config/load.js';
import { builtinConfigDir } from '../../core/config/package-root.js';
import { checkConfig } from '../../core/check.js';
import { loadPresets, presetDirs } from '../../core/config/presets.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'banter-presets-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
/** A fresh folder holding the given files. */
async function folder(files: Record<string, string>): Promise<string> {
  const dir = join(root, `dir-${++counter}`);
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function presetsError(dirs: string[]): Promise<ConfigError> {
  try {
    await loadPresets(dirs);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the presets to be rejected');
}

describe('loadPresets', () => {
  test('reads YAML and JSON presets with defaults, knowledge resolved against the preset file', async () => {
    const dir = await folder({
      'everest.yaml': [
        'description: The mountain itself',
        'persona:',
        '  - I am Mount Everest.',
        'greeting:',
        '  - { role: bot, text: "Hi, I\'m Mount Everest. What would you like to know about me?" }',
        'knowledge: [knowledge/everest.md]',
        'decoding: { temperature: 0.7 }',
        'plugins: { safety: { threshold: 0.4 } }',
        'selection: { weights: { grounding.support: 2 }, fallback: Ask me about climbing. }',
      ].join('\n'),
      'knowledge/everest.md': '# Everest\n8,849 m.',
      'plain.json': JSON.stringify({ name: 'plain-chat' }),
      'notes.txt': 'not a preset',
    });
    const presets = await loadPresets([dir]);
    expect(presets.map((preset) => preset.name)).toEqual(['everest', 'plain-chat']);
    const [everest, plain] = presets;
    expect(everest).toEqual({
      name: 'everest',
      description: 'The mountain itself',
      persona: ['I am Mount Everest.'],
      greeting: [{ role: 'bot', text: "Hi, I'm Mount Everest. What would you like to know about me?", at: 0 }],
      knowledge: [join(dir, 'knowledge/everest.md')],
      decoding: { temperature: 0.7 },
      plugins: { safety: { threshold: 0.4 } },
      selection: { weights: { 'grounding.support': 2 }, fallback: 'Ask me about climbing.' },
      file: join(dir, 'everest.yaml'),
    });
    expect(plain).toMatchObject({ persona: [], greeting: [], knowledge: [], decoding: {}, plugins: {}, selection: { weights: {} } });
  });

  test('a later folder overrides a preset of the same name; others are kept', async () => {
    const builtin = await folder({ 'default.yaml': 'persona: [I am the built-in.]', 'music.yaml': 'persona: [I know music.]' });
    const user = await folder({ 'mine.yml': 'name: default\npersona: [I am the user\'s.]' });
    const presets = await loadPresets([builtin, user]);
    expect(presets.map((preset) => preset.name).sort()).toEqual(['default', 'music']);
    expect(presets.find((preset) => preset.name === 'default')!.persona).toEqual(["I am the user's."]);
    const reversed = await loadPresets([user, builtin]);
    expect(reversed.find((preset) => preset.name === 'default')!.persona).toEqual(['I am the built-in.']);
  });

  test('two files of one folder with the same name are an error', async () => {
    const dir = await folder({ 'a.yaml': 'name: twin', 'b.yaml': 'name: twin' });
    const error = await presetsError([dir]);
    expect(error.message).toBe(`${join(dir, 'b.yaml')}: /name: preset "twin" is also defined by ${join(dir, 'a.yaml')} in the same folder`);
  });

  test('schema errors name the preset file and the JSON path', async () => {
    const dir = await folder({
      'bad.yaml': 'persona: I am a string\ngreeting:\n  - { role: narrator, text: hello }\ndecoding: { temprature: 0.5, topK: -1 }\n',
    });
    const file = join(dir, 'bad.yaml');
    const error = await presetsError([dir]);
    expect(error.problems.map((problem) => problem.message)).toEqual([
      `${file}: /persona: expected a list, got "I am a string"`,
      `${file}: /greeting/0/role: expected one of user, bot, got "narrator"`,
      `${file}: /decoding/temprature: expected one of strategy, numCandidates, temperature, topK, topP, repetitionPenalty, noRepeatNgramSize, minNewTokens, maxNewTokens, seed, beamWidth, lengthPenalty (unknown property; did you mean "temperature"?)`,
      `${file}: /decoding/topK: expected a number >= 0, got -1`,
    ]);
  });

  test('a missing knowledge path is an error at its index', async () => {
    const dir = await folder({ 'k.yaml': 'knowledge: [here.md, gone.md]', 'here.md': 'x' });
    const error = await presetsError([dir]);
    expect(error.message).toBe(
      `${join(dir, 'k.yaml')}: /knowledge/1: expected an existing file or folder (relative to the preset file), got "gone.md" (${join(dir, 'gone.md')})`,
    );
  });

  test('syntax errors and unreadable folders are reported with the rest', async () => {
    const dir = await folder({ 'broken.yaml': 'persona: [unclosed\n', 'fine.yaml': 'persona: [ok]' });
    const missing = join(root, 'no-such-folder');
    const error = await presetsError([dir, missing]);
    expect(error.problems).toHaveLength(2);
    expect(error.problems[0].message).toMatch(new RegExp(`^${escape(join(dir, 'broken.yaml'))}: line \\d+, column \\d+: YAML syntax error`));
    expect(error.problems[1].message).toMatch(new RegExp(`^${escape(missing)}: cannot read the presets folder: ENOENT`));
  });

  test('a preset name must be usable in commands', async () => {
    const dir = await folder({ 'x.yaml': 'name: "two words"' });
    const error = await presetsError([dir]);
    expect(error.path).toBe('/name');
  });
});

describe('presetDirs and checkConfig', () => {
  test('the built-in folder comes first, config folders follow relative to the config', async () => {
    const dir = await folder({ 'bot.yaml': 'engine: { model: m }\npresets: { dirs: [roles, ../shared] }' });
    const loaded = await loadConfig(join(dir, 'bot.yaml'));
    expect(presetDirs(loaded)).toEqual([join(builtinConfigDir(), 'presets'), join(dir, 'roles'), join(root, 'shared')]);
    const builtin = await loadConfig();
    expect(presetDirs(builtin)).toEqual([join(builtinConfigDir(), 'presets')]);
  });

  test('a good config has no problems', async () => {
    const dir = await folder({
      'bot.yaml': `engine: { model: ${JSON.stringify(FIXTURE_MODEL)} }\npresets: { dirs: [roles], default: mine-default, routes: { "discord:1": mine-music } }`,
      'roles/mine-default.yaml': 'persona: [hello]',
      'roles/mine-music.yaml': 'persona: [I like songs]',
    });
    const problems = await checkConfig(join(dir, 'bot.yaml'));
    // Only problems of this config's own files count here: built-in presets are another suite's.
    expect(problems.filter((problem) => problem.file.startsWith(dir))).toEqual([]);
  });

  test('lists config problems, preset problems and routes to missing presets together', async () => {
    const dir = await folder({
      'bot.yaml': 'engine: { model: m }\npresets: { dirs: [roles], default: nowhere-preset, routes: { "slack:C1": ghost-preset, "web": ok-preset } }',
      'roles/ok-preset.yaml': 'persona: [fine]',
      'roles/bad-preset.yaml': 'persona: [fine]\ncolour: blue',
    });
    const file = join(dir, 'bot.yaml');
    const messages = (await checkConfig(file)).map((problem) => problem.message);
    expect(messages).toContainEqual(`${join(dir, 'roles/bad-preset.yaml')}: /colour: expected one of name, description, persona, greeting, knowledge, decoding, plugins, selection, admission (unknown property)`);
    expect(messages.find((message) => message.startsWith(`${file}: /presets/default: expected one of the presets `))).toMatch(/got "nowhere-preset"$/);
    expect(messages.find((message) => message.startsWith(`${file}: /presets/routes/slack:C1: `))).toMatch(/got "ghost-preset"$/);
    expect(messages.some((message) => message.includes('/presets/routes/web'))).toBe(false);
  });

  test('reports a model folder that is not there', async () => {
    const dir = await folder({ 'bot.yaml': 'engine: { model: ./missing-model }' });
    const problems = await checkConfig(join(dir, 'bot.yaml'));
    expect(problems[0].message).toMatch(new RegExp(`^${escape(join(dir, 'bot.yaml'))}: /engine/model: cannot load the model ${escape(join(dir, 'missing-model'))}: `));
  });

  test('returns the config errors themselves when the config does not load', async () => {
    const dir = await folder({ 'bot.yaml': 'engine: { model: m, device: gpu }\nlog: { level: loud }' });
    const problems = await checkConfig(join(dir, 'bot.yaml'));
    expect(problems.map((problem) => problem.path)).toEqual(['/engine/device', '/log/level']);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
