/** Secrets from `${VAR}` never come back in an error message: the variable is named instead. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createBot } from '../../core/bot.js';
import { ConfigError } from '../../core/config/errors.js';
import { loadConfig } from '../../core/config/load.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(text: string): Promise<string> {
  const file = join(dir, `bot-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, `engine:\n  model: ${FIXTURE_MODEL}\nlog:\n  level: silent\n${text}`);
  return file;
}

async function errorOf(work: () => Promise<unknown>): Promise<Error> {
  const error = await work().then(() => undefined, (caught: Error) => caught);
  if (!error) throw new Error('expected it to fail');
  return error;
}

describe('config errors never echo a value from the environment', () => {
  test('a secret substituted into the wrong field is named by its variable, not shown', async () => {
    const secret = 'MTIzNDU2Nzg5.secret-discord-token';
    const file = join(dir, 'wrong-field.yaml');
    await writeFile(file, 'engine:\n  model: m\n  maxConcurrentGenerations: ${DISCORD_TOKEN}\n');
    const error = await errorOf(() => loadConfig(file, { env: { DISCORD_TOKEN: secret } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('/engine/maxConcurrentGenerations: expected an integer, got the value of ${DISCORD_TOKEN} (not shown)');
    expect(error.message).not.toContain(secret);
  });

  test('a too-short web access token fails the start without repeating it', async () => {
    const token = 'short12';
    const file = await configFile('adapters:\n  web:\n    port: 0\n    accessToken: ${BANTER_WEB_TOKEN}\n');
    const loaded = await loadConfig(file, { env: { BANTER_WEB_TOKEN: token } });
    const error = await errorOf(async () => (await createBot(loaded)).start());
    expect(error.message).toContain('/adapters/web/accessToken');
    expect(error.message).toContain('${BANTER_WEB_TOKEN}');
    expect(error.message).not.toContain(token);
  });

  test('a literal secret under a secret-looking key is not shown either', async () => {
    const file = await configFile('adapters:\n  web:\n    port: 0\n    accessToken: abc\n');
    const loaded = await loadConfig(file, { env: {} });
    const error = await errorOf(async () => (await createBot(loaded)).start());
    expect(error.message).toContain('/adapters/web/accessToken: expected a string matching');
    expect(error.message).not.toMatch(/"abc"/);
  });
});
