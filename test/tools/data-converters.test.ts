/**
 * The data converters' Python unit tests (tools/data/test_*.py: the placeholder cleaner), run in
 * the vitest suite so that a change to the cleaner cannot pass unnoticed. Stdlib python3 only.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('tools/data converters', () => {
  it('pass their unit tests', () => {
    const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', 'tools/data', '-p', 'test_*.py'], { encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    // unittest reports on stderr; show it when a test fails.
    expect(run.stderr).toMatch(/\nOK\b/);
    expect(run.status, run.stderr).toBe(0);
  });
});
