/**
 * A backward "view" of a model folder: a folder of links to its files with its own
 * dialogue_format.json saying `direction: backward` (and, for a two-way model, the `prefix` that
 * selects the backward direction). Lets MMI use a two-way model, or a DialoGPT-style reverse model
 * exported without a dialogue_format.json, without copying weights.
 */
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DialogueFormat } from '../../core/index.js';

/** DialoGPT's reverse model: every turn followed by the end-of-text token, turns newest first. */
export const DIALOGPT_BACKWARD_FORMAT: DialogueFormat = {
  user: '{text}<|endoftext|>',
  bot: '{text}<|endoftext|>',
  responsePrefix: '',
  end: '<|endoftext|>',
  direction: 'backward',
};

/**
 * Writes the view into `target` (created if needed). The format is the source folder's own
 * dialogue_format.json (DialoGPT's when it has none) with `overrides` applied and `direction`
 * forced to `backward`. Returns `target`.
 */
export async function createBackwardView(source: string, target: string, overrides: Partial<DialogueFormat> = {}): Promise<string> {
  const from = resolve(source);
  await mkdir(target, { recursive: true });
  let format: DialogueFormat;
  try {
    format = JSON.parse(await readFile(join(from, 'dialogue_format.json'), 'utf8')) as DialogueFormat;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    format = DIALOGPT_BACKWARD_FORMAT;
  }
  for (const entry of await readdir(from)) {
    if (entry !== 'dialogue_format.json') await symlink(join(from, entry), join(target, entry));
  }
  await writeFile(join(target, 'dialogue_format.json'), `${JSON.stringify({ ...format, ...overrides, direction: 'backward' }, null, 2)}\n`);
  return target;
}
