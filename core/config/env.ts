/**
 * `${VAR}` / `${VAR:-default}` substitution in config strings. Secrets come only from the
 * environment, so a disabled section (an adapter set to `false` or `enabled: false`) must not
 * require its variables: it is skipped.
 */
import { ConfigError, pointerJoin, type EnvOrigins } from './errors.js';

export interface SubstitutionResult {
  problems: ConfigError[];
  /** Messages about secrets written as literals. */
  warnings: string[];
  /** Which strings took values from the environment: errors never repeat those. */
  origins: EnvOrigins;
}

const PLACEHOLDER = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;
const SECRET_KEY = /(token|secret|password|apiKey)$/i;
/** Sections whose entries can be switched off; only enabled entries get their variables checked. */
const TOGGLED_SECTIONS = new Set(['/adapters', '/plugins']);

/** Replaces placeholders in every string of `root`, in place. */
export function substituteEnv(root: Record<string, unknown>, file: string, env: NodeJS.ProcessEnv): SubstitutionResult {
  const result: SubstitutionResult = { problems: [], warnings: [], origins: { pointers: {}, values: [] } };
  walk(root, '', true);
  return result;

  function walk(container: Record<string, unknown> | unknown[], pointer: string, enabled: boolean): void {
    for (const [key, value] of Object.entries(container)) {
      const path = pointerJoin(pointer, key);
      if (typeof value === 'string') {
        if (SECRET_KEY.test(key) && value !== '' && !value.includes('${')) {
          result.warnings.push(`${file}: ${path}: holds a literal secret; write \${SOME_ENV_VAR} and set it in the environment instead`);
        }
        if (enabled) (container as Record<string, unknown>)[key] = substitute(value, path);
      } else if (value !== null && typeof value === 'object') {
        walk(value as Record<string, unknown>, path, enabled && !(TOGGLED_SECTIONS.has(pointer) && isDisabled(value, env)));
      }
    }
  }

  function substitute(text: string, path: string): string {
    return text.replace(PLACEHOLDER, (match: string, inner: string | undefined) => {
      if (match === '$${') return '${';
      const reference = inner === undefined ? null : REFERENCE.exec(inner);
      if (!reference) {
        result.problems.push(new ConfigError({ file, path, expected: '${NAME} or ${NAME:-default} (write $${ for a literal ${)', got: JSON.stringify(text) }));
        return match;
      }
      const [, name, fallback] = reference;
      const value = env[name];
      if (value) {
        (result.origins.pointers[path] ??= []).push(name);
        result.origins.values.push(value);
      }
      if (fallback !== undefined) return value ? value : fallback;
      if (value !== undefined) return value;
      result.problems.push(new ConfigError({ file, path }, `environment variable ${name} is not set (set it, write \${${name}:-default}, or disable this section)`));
      return match;
    });
  }
}

/**
 * `false`, a mapping with `enabled: false`, or one with `enabledWhen: VAR` while VAR is unset or
 * empty (so `npm start` brings up Discord or Slack only when their tokens are in the environment).
 */
export function isDisabled(section: unknown, env: NodeJS.ProcessEnv): boolean {
  if (section === false) return true;
  if (section === null || typeof section !== 'object') return false;
  const { enabled, enabledWhen } = section as Record<string, unknown>;
  return enabled === false || (typeof enabledWhen === 'string' && !env[enabledWhen]);
}
