/** Finds banter's own files (schemas, the default config) from source under vitest and from dist/. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding banter's package.json, found by walking up from this module. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`banter: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return (cached = dir);
}

/** banter's config folder: schemas, the default bot.yaml and the built-in presets. */
export function builtinConfigDir(): string {
  return join(packageRoot(), 'config');
}
