/**
 * The package as a user gets it: the README's plugin example and bot run as written against the
 * published entry points (`banter` through package.json's exports, i.e. the build), and a 20-line
 * third-party plugin (third-party/brevity.js) that adds a score, reads a preset override and logs
 * needs nothing else, tested with `banter/testing` on the fixture model; the packed file list holds
 * what those need and no benchmarks.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const THIRD_PARTY = join(import.meta.dirname, 'third-party');
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

  it('let a third-party plugin (test/package/third-party) add a score, read its preset override and log, with the public API alone', async () => {
    for (const file of ['brevity.js', 'brevity-bot.js']) copyFileSync(join(THIRD_PARTY, file), join(project, file));
    // A preset of the user's that overrides the plugin's setting; conversation p:b is routed to it.
    mkdirSync(join(project, 'presets'), { recursive: true });
    writeFileSync(join(project, 'presets', 'short.yaml'), 'name: short\nplugins:\n  brevity: { ideal: 2 }\n');
    const { stdout } = await run(process.execPath, ['brevity-bot.js'], { cwd: project });
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { brevity?: number[]; msg?: string; ideal?: number; preset?: string });
    const scored = lines.filter((line) => line.brevity);
    expect(scored).toHaveLength(2);
    for (const { brevity } of scored) {
      expect(brevity).toHaveLength(3);
      for (const score of brevity!) expect(score).toBeLessThanOrEqual(0);
    }
    const logged = lines.filter((line) => line.msg === 'brevity scored');
    expect(logged.map((line) => [line.preset, line.ideal])).toEqual([['default', 4], ['short', 2]]);
  }, 120_000);

  it('pack what they need and no benchmarks', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const [pack] = JSON.parse(stdout) as { files: { path: string }[]; size: number }[];
    const paths = pack.files.map((file) => file.path);
    const needed = ['dist/core/index.js', 'dist/core/testing/index.js', 'dist/core/engine/index.js', 'config/bot.schema.json', 'models/banter-chat/onnx/model.onnx', 'test/fixtures/tiny-gpt2/onnx/model.onnx'];
    for (const path of needed) expect(paths).toContain(path);
    expect(paths.some((path) => path.startsWith('dist/bench/') || path.startsWith('dist/test/'))).toBe(false);
  }, 120_000);
});
