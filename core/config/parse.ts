/** Reads a YAML or JSON file into plain data, turning I/O and syntax errors into ConfigErrors with a line. */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

export const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

export async function readConfigFile(file: string, what: string): Promise<unknown> {
  const extension = extname(file).toLowerCase();
  if (!CONFIG_EXTENSIONS.includes(extension)) {
    throw new ConfigError({ file, path: '', expected: 'a .yaml, .yml or .json file', got: JSON.stringify(extension || 'no extension') });
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError({ file, path: '' }, `cannot read the ${what}: ${(error as Error).message}`);
  }
  return extension === '.json' ? parseJson(text, file) : parseYaml(text, file);
}

function parseYaml(text: string, file: string): unknown {
  // `merge: true` so `<<: *defaults` works; unique keys stay enforced (a duplicated key is a typo).
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, merge: true, lineCounter });
  const [error] = document.errors;
  if (error) {
    const position = lineCounter.linePos(error.pos[0]);
    const message = error.message.split('\n')[0];
    throw new ConfigError({ file, path: '', line: position.line, column: position.col }, `YAML syntax error: ${message}`);
  }
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias bomb ("Excessive alias count ...") and the like: say which file.
    throw new ConfigError({ file, path: '' }, `YAML error: ${(error as Error).message}`, undefined);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    if (!position) throw new ConfigError({ file, path: '' }, `JSON syntax error: ${message}`);
    const before = text.slice(0, Number(position[1])).split('\n');
    const line = before.length;
    const column = before[before.length - 1].length + 1;
    throw new ConfigError({ file, path: '', line, column }, `JSON syntax error: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}
