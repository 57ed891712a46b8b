/**
 * The package as a user gets it: the README's plugin example and bot run as written against the
 * published entry points (`banter` through package.json's exports, i.e. the build), and a 20-line
 * third-party plugin that adds a score, reads a preset override and logs needs nothing else; the
 * packed file list holds what those need and no benchmarks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const project = mkdtempSync(join(tmpdir(), 'banter-user-'));
mkdirSync(join(project, 'node_modules'));
symlinkSync(ROOT, join(project, 'node_modules', 'banter'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** The README's code blocks whose first line names a file (`// chat.js: ...`, `# bot.yaml: ...`). */
function readmeFiles(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Writing a plugin'));
  const files = new Map<string, string>();
  for (const [, body] of section.matchAll(/```(?:js|yaml)\n([\s\S]*?)```/g)) {
    const name = body.match(/^(?:\/\/|#) ([\w.-]+\.(?:js|yaml)):/)?.[1];
    if (name && !files.has(name)) files.set(name, body);
  }
  return files;
}

describe('the published entry points', () => {
  it('run the README’s plugin example and bot as written', async () => {
    const files = readmeFiles();
    expect([...files.keys()].sort()).toEqual(['bot.yaml', 'chat.js', 'no-word.js']);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    for (const [name, body] of files) writeFileSync(join(project, name), body);
    const { stdout } = await run(process.execPath, ['chat.js'], { cwd: project });
    expect(stdout.trim().length).toBeGreaterThan(0);
    expect(stdout).not.toContain('sorry');
  }, 120_000);

  it('let a third-party plugin add a score, read its preset override and log, with the public API alone', async () => {
    writeFileSync(
      join(project, 'brevity.js'),
      `import { PresetSettings } from 'banter';
const schema = { type: 'object', properties: { ideal: { type: 'integer', minimum: 1 } }, additionalProperties: false };
/** @type {() => import('banter').Plugin<{ ideal: number }>} */
export default () => {
  let settings, logger;
  return {
    name: 'brevity',
    configSchema: schema,
    scores: { brevity: 0.5 },
    setup(bot, config) {
      logger = bot.logger;
      settings = new PresetSettings('brevity', schema, (base, over) => ({ ...base, ...over }), { ideal: 8, ...config });
      for (const preset of bot.presets.list()) settings.for(preset);
    },
    score(turn) {
      const { ideal } = settings.for(turn.preset);
      for (const c of turn.candidates) c.scores.brevity = -Math.abs(c.tokens.length - ideal) / ideal;
      logger.info({ ideal, preset: turn.preset.name }, 'brevity scored');
    },
  };
};
`,
    );
    writeFileSync(
      join(project, 'brevity-bot.js'),
      `import { createTestBot } from 'banter/testing';
const lines = [];
const logger = { info: (fields, message) => lines.push({ ...fields, message }), warn() {}, error() {}, debug() {}, child() { return logger; } };
const bot = await createTestBot(
  { plugins: { './brevity.js': { ideal: 4 } }, presets: { dirs: ['presets'], routes: { 'p:b': 'short' } }, decoding: { numCandidates: 3, maxNewTokens: 8 } },
  { logger },
);
bot.events.on('candidates', ({ turn }) => console.log(JSON.stringify(turn.candidates.map((c) => c.scores.brevity))));
await bot.handle({ platform: 'p', channel: 'a', user: { id: 'u' }, text: 'Hi!' });
await bot.handle({ platform: 'p', channel: 'b', user: { id: 'u' }, text: 'Hi!' });
console.log(JSON.stringify(lines.filter((line) => line.message === 'brevity scored')));
await bot.stop();
`,
    );
    // A preset of the user's that overrides the plugin's setting; conversation p:b is routed to it.
    mkdirSync(join(project, 'presets'), { recursive: true });
    writeFileSync(join(project, 'presets', 'short.yaml'), 'name: short\nplugins:\n  brevity: { ideal: 2 }\n');
    const { stdout } = await run(process.execPath, ['brevity-bot.js'], { cwd: project });
    const [first, , logged] = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(first).toHaveLength(3);
    for (const score of first) expect(score).toBeLessThanOrEqual(0);
    expect(logged.map((line: { ideal: number; preset: string }) => [line.preset, line.ideal])).toEqual([['default', 4], ['short', 2]]);
  }, 120_000);

  it('pack what they need and no benchmarks', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const [pack] = JSON.parse(stdout) as { files: { path: string }[]; size: number }[];
    const paths = pack.files.map((file) => file.path);
    for (const needed of ['dist/core/index.js', 'dist/core/testing/index.js', 'dist/core/engine/index.js', 'config/bot.schema.json', 'models/banter-chat/onnx/model.onnx']) {
      expect(paths).toContain(needed);
    }
    expect(paths.some((path) => path.startsWith('dist/bench/') || path.startsWith('dist/test/'))).toBe(false);
  }, 120_000);
});
