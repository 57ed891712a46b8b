/**
 * Finds plugins and adapters named in config. Core never imports them statically: a built-in
 * name (`persona`, `discord`) resolves to the folder of that name beside core, anything else is a
 * module path (relative to the config file) or a package name that a user installed.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Adapter, Plugin } from './types.js';

export class ModuleLoadError extends Error {
  constructor(
    readonly kind: 'plugin' | 'adapter',
    readonly spec: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot load ${kind} "${spec}": ${message}`, options);
    this.name = 'ModuleLoadError';
  }
}

const BUILTIN_NAME = /^[a-z][a-z0-9-]*$/;
const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The module a name in config stands for: a file URL for paths and built-ins, else a package name. */
export function resolveModule(kind: 'plugin' | 'adapter', spec: string, configDir: string): string {
  if (spec.startsWith('.') || isAbsolute(spec)) return pathToFileURL(resolve(configDir, spec)).href;
  if (BUILTIN_NAME.test(spec)) {
    const folder = resolve(packageDir, kind === 'plugin' ? 'plugins' : 'adapters', spec);
    // Compiled (dist/) next to compiled core, or TypeScript sources when run under vitest/tsx.
    for (const file of ['index.js', 'index.ts']) {
      if (existsSync(resolve(folder, file))) return pathToFileURL(resolve(folder, file)).href;
    }
  }
  return spec;
}

async function loadFactory<T extends { name: string }>(kind: 'plugin' | 'adapter', spec: string, configDir: string): Promise<T> {
  const target = resolveModule(kind, spec, configDir);
  let module: { default?: unknown };
  try {
    module = await import(target);
  } catch (error) {
    throw new ModuleLoadError(kind, spec, `no built-in ${kind} of that name and no module at ${target}`, { cause: error });
  }
  if (typeof module.default !== 'function') {
    throw new ModuleLoadError(kind, spec, `its module must default-export a factory function returning the ${kind}`);
  }
  const instance = (module.default as () => T)();
  if (!instance || typeof instance.name !== 'string') {
    throw new ModuleLoadError(kind, spec, `its factory must return an object with a name`);
  }
  return instance;
}

export const loadPlugin = (spec: string, configDir: string) => loadFactory<Plugin>('plugin', spec, configDir);
export const loadAdapter = (spec: string, configDir: string) => loadFactory<Adapter>('adapter', spec, configDir);
