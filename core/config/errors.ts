/** Config errors name the file, the JSON pointer and what was expected, so a user can fix them at once. */

export interface ConfigErrorDetails {
  /** The file the value came from. */
  file: string;
  /** JSON pointer of the offending value (`/engine/device`); `` for the whole file. */
  path: string;
  /** What would have been valid, e.g. `one of cpu, cuda`. */
  expected?: string;
  /** What was found, already rendered (`"gpu"`). */
  got?: string;
  /** For syntax errors: 1-based line and column in the file. */
  line?: number;
  column?: number;
}

/**
 * `FILE: /engine/device: expected one of cpu, cuda, got "gpu"`. When a pass finds several
 * problems, the thrown error is the first one with all of them in `problems` and in the message
 * (fixing a config one line per run would be tedious).
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly path: string;
  readonly expected?: string;
  readonly line?: number;
  readonly column?: number;
  /** The sentence after the location. */
  readonly detail: string;
  /** Every problem found in the same pass, this one first. */
  readonly problems: ConfigError[];

  /** `all`: used by `combine` only, so that this error stands for every problem of a pass. */
  constructor(details: ConfigErrorDetails, problem?: string, all?: ConfigError[]) {
    const detail = details.expected !== undefined
      ? `expected ${details.expected}${details.got !== undefined ? `, got ${details.got}` : ''}${problem ? ` (${problem})` : ''}`
      : (problem ?? 'invalid value');
    super(all ? all.map((error) => error.message).join('\n') : locationOf(details) + detail);
    this.name = 'ConfigError';
    this.file = details.file;
    this.path = details.path;
    this.expected = details.expected;
    this.line = details.line;
    this.column = details.column;
    this.detail = detail;
    this.problems = all ?? [this];
  }

  /** One error standing for all of them: the first one's location, every message. */
  static combine(errors: ConfigError[]): ConfigError {
    const [first] = errors;
    if (!first) throw new Error('ConfigError.combine needs at least one error');
    if (errors.length === 1) return first;
    return new ConfigError({ file: first.file, path: first.path, expected: first.expected, line: first.line, column: first.column }, undefined, errors);
  }
}

function locationOf(details: ConfigErrorDetails): string {
  if (details.line !== undefined) return `${details.file}: line ${details.line}${details.column !== undefined ? `, column ${details.column}` : ''}: `;
  return details.path ? `${details.file}: ${details.path}: ` : `${details.file}: `;
}

/** Renders a found value for a message: strings quoted, long values cut. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (Array.isArray(value)) text = `an array ${JSON.stringify(value)}`;
  else if (value !== null && typeof value === 'object') text = `an object ${JSON.stringify(value)}`;
  else text = String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Appends a key to a JSON pointer, escaping `~` and `/` (RFC 6901). */
export function pointerJoin(pointer: string, key: string | number): string {
  return `${pointer}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/**
 * Config values that came from the environment (`${VAR}`), so that no error ever repeats one:
 * by JSON pointer (the variable's name is said instead) and by value (masked wherever it shows).
 */
export interface EnvOrigins {
  /** JSON pointer -> the variables substituted into that string. */
  pointers: Record<string, string[]>;
  /** The substituted values themselves. */
  values: string[];
}

const SECRET_KEY = /(token|secret|password)$/i;

/**
 * How a found value is shown in an error at `path`: never a value that came from `${VAR}` nor one
 * under a secret-looking key (`token`, `...Secret`, `password`), which are described instead.
 */
export function describeFound(value: unknown, path: string, origins?: EnvOrigins): string {
  const variables = origins?.pointers[path];
  if (variables) return `the value of ${variables.map((name) => `\${${name}}`).join(' and ')} (not shown)`;
  if (typeof value === 'string' && SECRET_KEY.test(path.split('/').at(-1) ?? '')) return `a string of ${value.length} characters (not shown: a secret)`;
  return maskValues(describeValue(value), origins);
}

/** Replaces every environment value of 3 characters or more in `text` with `***`. */
export function maskValues(text: string, origins?: EnvOrigins): string {
  let masked = text;
  for (const value of origins?.values ?? []) {
    if (value.length < 3) continue;
    masked = masked.split(value).join('***').split(JSON.stringify(value).slice(1, -1)).join('***');
  }
  return masked;
}
