/** Runs `banter feedback ...` / `banter tune ...` in this process, with what it prints kept. */
import { Command } from 'commander';
import { vi } from 'vitest';
import { registerFeedbackCommands } from '../../core/cli/feedback.js';

export async function runFeedbackCli(...args: string[]): Promise<{ out: string[]; errors: string[] }> {
  const program = new Command().exitOverride();
  registerFeedbackCommands(program);
  const out: string[] = [];
  const errors: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
  try {
    await program.parseAsync(['node', 'banter', ...args]);
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  return { out, errors };
}
