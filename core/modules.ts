/**
 * Finds plugins and adapters named in config. Core never imports them statically: a built-in
 * name (`persona`, `discord`) resolves to the folder of that name beside core, anything else is a
 * module path (relative to the config file) or a package name that a user installed.
 */
import { existsSync, readdirSync } from 'node:fs';
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

/** The built-in plugins or adapters: the folders beside core that hold a module. */
export function builtinNames(kind: 'plugin' | 'adapter'): string[] {
  const root = resolve(packageDir, kind === 'plugin' ? 'plugins' : 'adapters');
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && BUILTIN_NAME.test(entry.name) && ['index.js', 'index.ts'].some((file) => existsSync(resolve(root, entry.name, file))))
    .map((entry) => entry.name)
    .sort();
}

async function loadFactory<T extends { name: string }>(kind: 'plugin' | 'adapter', spec: string, configDir: string): Promise<T> {
  const target = resolveModule(kind, spec, configDir);
  let module: { default?: unknown };
  try {
    module = await import(target);
  } catch (error) {
    throw new ModuleLoadError(kind, spec, loadFailure(kind, target, error), { cause: error });
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

/**
 * Why importing `target` failed: the module itself is missing, or it exists and failed on its own
 * (a package it imports is not installed, a syntax error, a throw at import) — then its own words.
 */
function loadFailure(kind: 'plugin' | 'adapter', target: string, error: unknown): string {
  const { code, message = String(error) } = error as { code?: string; message?: string };
  const file = target.startsWith('file:');
  const wanted = file ? fileURLToPath(target) : target;
  // Node names the module it could not find: when that is the target itself, nothing is there.
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && (message.includes(`'${wanted}'`) || message.includes(`'${target}'`))) {
    return file
      ? `no built-in ${kind} of that name and no module at ${wanted}`
      : `no built-in ${kind} of that name and no installed package "${target}" (npm install it, or give a path starting with ./)`;
  }
  return `its module ${wanted} failed to load: ${message}`;
}

export const loadPlugin = (spec: string, configDir: string) => loadFactory<Plugin>('plugin', spec, configDir);
export const loadAdapter = (spec: string, configDir: string) => loadFactory<Adapter>('adapter', spec, configDir);
