import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/config/errors.js';
import { loadPresets } from '../core/config/presets.js';
import { listSourceFiles, readPassages } from '../plugins/grounding/sources.js';

const PRESETS_DIR = resolve(import.meta.dirname, '../config/presets');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-presets-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function passagesOf(paths: string[]) {
  const files = await listSourceFiles(paths);
  return (await Promise.all(files.map((file) => readPassages(file.path, 600)))).flat();
}

describe('shipped presets', () => {
  it('load and validate: default, mount-everest and music-recommender', async () => {
    const presets = await loadPresets([PRESETS_DIR]);
    expect(presets.map((p) => p.name).sort()).toEqual(['default', 'mount-everest', 'music-recommender']);
    const everest = presets.find((p) => p.name === 'mount-everest')!;
    expect(everest.greeting).toEqual([{ role: 'bot', text: "Hi, I'm Mount Everest. What would you like to know about me?", at: 0 }]);
    expect(everest.persona[0]).toMatch(/^I am Mount Everest/);
    expect(everest.knowledge).toEqual([join(PRESETS_DIR, 'knowledge/everest')]);
    expect(everest.selection.weights).toMatchObject({ 'persona.consistency': 2, 'grounding.support': 2 });
    const plain = presets.find((p) => p.name === 'default')!;
    expect(plain.persona[0]).toBe('My name is banter.');
    expect(plain.greeting).toEqual([{ role: 'bot', text: "Hi, I'm banter! How's your day going?", at: 0 }]);
    expect(plain.knowledge).toEqual([]);
  });

  it('ship knowledge where every passage has a title and an https source URL', async () => {
    const presets = await loadPresets([PRESETS_DIR]);
    const everest = await passagesOf(presets.find((p) => p.name === 'mount-everest')!.knowledge);
    const music = await passagesOf(presets.find((p) => p.name === 'music-recommender')!.knowledge);
    expect(everest.length).toBeGreaterThanOrEqual(25);
    expect(music.length).toBeGreaterThanOrEqual(40);
    for (const passage of [...everest, ...music]) {
      expect(passage.title.length).toBeGreaterThan(0);
      expect(passage.url).toMatch(/^https:\/\/\S+$/);
    }
    expect(everest.find((p) => p.title === 'Mount Everest: Height')!.text).toContain('8,848.86 metres');
  });
});

describe('preset files with errors', () => {
  it('are rejected with the file path and the JSON path of the mistake', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'name: broken\npersona: I am one line, not a list\ngreeting:\n  - role: narrator\n    text: Once upon a time\n');
    const error = await loadPresets([dir]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const messages = (error as ConfigError).problems.map((problem) => problem.message);
    expect(messages).toContain(`${file}: /persona: expected a list, got "I am one line, not a list"`);
    expect(messages.some((message) => message.startsWith(`${file}: /greeting/0/role: expected one of user, bot`))).toBe(true);
  });

  it('are rejected when a knowledge source does not exist, relative to the preset file', async () => {
    const file = join(dir, 'lost.yaml');
    await writeFile(file, 'name: lost\nknowledge: [knowledge/nowhere]\n');
    await expect(loadPresets([dir])).rejects.toThrow(`${file}: /knowledge/0: expected an existing file or folder`);
  });

  it('are rejected for YAML syntax errors with the file and line', async () => {
    const file = join(dir, 'syntax.yaml');
    await writeFile(file, 'name: syntax\npersona: [unclosed\n');
    await expect(loadPresets([dir])).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line \\d+`));
  });

  it('a user adds a preset by dropping a file into a presets folder', async () => {
    await copyFile(join(PRESETS_DIR, 'default.yaml'), join(dir, 'default.yaml'));
    await writeFile(join(dir, 'pirate.yaml'), 'persona: [I am a pirate captain.]\ngreeting:\n  - {role: bot, text: Ahoy!}\n');
    const presets = await loadPresets([PRESETS_DIR, dir]);
    const pirate = presets.find((p) => p.name === 'pirate')!;
    expect(pirate.persona).toEqual(['I am a pirate captain.']);
    expect(pirate.file).toBe(join(dir, 'pirate.yaml'));
  });
});
