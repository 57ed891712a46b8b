import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../core/config/errors.js';
import { defaultConfigFile, loadConfig } from '../../core/config/load.js';
import { builtinConfigDir } from '../../core/config/package-root.js';
import { validatePluginConfig } from '../../core/config/schema.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function configFile(text: string, extension = '.yaml'): Promise<string> {
  const file = join(dir, `bot-${++counter}${extension}`);
  await writeFile(file, text);
  return file;
}

/** The ConfigError a load throws (failing the test when it does not throw one). */
async function loadError(file: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  try {
    await loadConfig(file, { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected ${file} to be rejected`);
}

describe('the default config', () => {
  test('loads from the package with every documented value', async () => {
    const loaded = await loadConfig(undefined, { env: {} });
    expect(loaded.file).toBeUndefined();
    expect(loaded.dir).toBe(join(defaultConfigFile(), '..'));
    expect(loaded.config.engine).toEqual({ model: '../models/banter-chat', device: 'cpu', fallback: 'cpu', dtype: 'auto', thread: 'worker', maxConcurrentGenerations: 16, maxBatchRows: 64, prefillChunk: 256, timeoutMs: 120000, retryForMs: 30000 });
    expect(loaded.config.decoding).toEqual({
      strategy: 'sample', numCandidates: 8, temperature: 0.8, topK: 40, topP: 0.9, repetitionPenalty: 1,
      noRepeatNgramSize: 3, minNewTokens: 1, maxNewTokens: 40, beamWidth: 4, lengthPenalty: 1,
    });
    expect(loaded.config.history).toEqual({ store: 'memory://', maxTurns: 20, maxTokens: 512 });
    expect(loaded.config.selection.weights).toEqual({ avgLogprob: 0, mmi: 1, 'persona.facts': 1, 'grounding.overlap': 4 });
    expect(Object.keys(loaded.config.plugins)).toEqual(['safety', 'persona', 'grounding', 'mmi']);
    expect(loaded.config.presets).toEqual({ dirs: ['presets'], default: 'default', routes: {} });
    // Discord and Slack start only when their tokens are in the environment.
    // The web port is `${BANTER_WEB_PORT:-8787}`: a string here, made a number by the adapter's schema at start.
    expect(loaded.config.adapters).toEqual({ terminal: {}, web: { port: '8787', host: '127.0.0.1' }, discord: false, slack: false });
    expect(loaded.config.log.level).toBe('warn');
    expect(loaded.config.maxMessageLength).toBe(4000);
  });

  test('a minimal file gets the same defaults from the schema', async () => {
    const minimal = await loadConfig(await configFile('engine:\n  model: ./model\n'));
    const builtin = await loadConfig();
    expect(minimal.config.decoding).toEqual(builtin.config.decoding);
    expect(minimal.config.history).toEqual(builtin.config.history);
    // The schema's default weights are the forward score alone; the shipped config adds MMI.
    expect(minimal.config.selection).toEqual({ ...builtin.config.selection, weights: { avgLogprob: 1 } });
    expect(minimal.config.name).toBe('banter');
    expect(minimal.config.plugins).toEqual({});
    expect(minimal.config.adapters).toEqual({});
    expect(minimal.dir).toBe(dir);
  });

  test('JSON files load too, and $schema is accepted then dropped', async () => {
    const file = await configFile(JSON.stringify({ $schema: '../config/bot.schema.json', engine: { model: 'm', device: 'cuda' } }), '.json');
    const loaded = await loadConfig(file);
    expect(loaded.file).toBe(file);
    expect(loaded.config.engine.device).toBe('cuda');
    expect('$schema' in loaded.config).toBe(false);
  });
});

describe('config errors name the file, the JSON path and what was expected', () => {
  test('enum', async () => {
    const file = await configFile('engine:\n  model: m\n  device: gpu\n');
    const error = await loadError(file);
    expect(error.message).toBe(`${file}: /engine/device: expected one of cpu, webgpu, cuda, auto, got "gpu"`);
    expect(error.path).toBe('/engine/device');
    expect(error.expected).toBe('one of cpu, webgpu, cuda, auto');
    expect(error.file).toBe(file);
  });

  test('unreadable file', async () => {
    const file = join(dir, 'missing.yaml');
    const error = await loadError(file);
    expect(error.message).toMatch(new RegExp(`^${escape(file)}: cannot read the config file: ENOENT`));
  });

  test('a file that is not YAML or JSON by extension', async () => {
    const error = await loadError(await configFile('engine: {}', '.toml'));
    expect(error.expected).toBe('a .yaml, .yml or .json file');
  });

  test('YAML syntax error, with its line', async () => {
    const file = await configFile('engine:\n  model: m\n  device: [cpu\nhistory:\n  maxTurns: 3\n');
    const error = await loadError(file);
    expect(error.message).toMatch(new RegExp(`^${escape(file)}: line \\d+, column \\d+: YAML syntax error: `));
    expect(error.line).toBeGreaterThanOrEqual(3);
  });

  test('a duplicated YAML key is a syntax error', async () => {
    const error = await loadError(await configFile('engine:\n  model: a\n  model: b\n'));
    expect(error.line).toBe(3);
    expect(error.message).toContain('YAML syntax error');
  });

  test('JSON syntax error, with its line', async () => {
    const file = await configFile('{\n  "engine": {\n    "model": "m",\n  }\n}\n', '.json');
    const error = await loadError(file);
    expect(error.message).toMatch(new RegExp(`^${escape(file)}: line 4, column 3: JSON syntax error: `));
    expect(error.line).toBe(4);
  });

  test('a file that is not a mapping', async () => {
    const file = await configFile('- engine\n');
    const error = await loadError(file);
    expect(error.message).toBe(`${file}: expected a mapping of settings (engine, decoding, history, ...), got an array ["engine"]`);
  });

  test('wrong type', async () => {
    const file = await configFile('engine:\n  model: m\nhistory:\n  maxTurns: twenty\n');
    const error = await loadError(file);
    expect(error.message).toBe(`${file}: /history/maxTurns: expected an integer, got "twenty"`);
  });

  test('wrong type of a section', async () => {
    const file = await configFile('engine: ./model\n');
    const error = await loadError(file);
    expect(error.message).toBe(`${file}: /engine: expected a mapping, got "./model"`);
  });

  test('unknown property, with a suggestion', async () => {
    const file = await configFile('engine:\n  model: m\n  devcie: cpu\n');
    const error = await loadError(file);
    expect(error.path).toBe('/engine/devcie');
    expect(error.message).toBe(
      `${file}: /engine/devcie: expected one of model, device, fallback, cudaFallback, dtype, intraOpThreads, interOpThreads, thread, maxConcurrentGenerations, maxBatchRows, prefillChunk, url, apiKey, servedModel, timeoutMs, retryForMs (unknown property; did you mean "device"?)`,
    );
  });

  test('unknown top-level property', async () => {
    const file = await configFile('engine:\n  model: m\nhistroy:\n  maxTurns: 3\n');
    const error = await loadError(file);
    expect(error.path).toBe('/histroy');
    expect(error.message).toContain('did you mean "history"?');
  });

  test('missing required property', async () => {
    const file = await configFile('engine:\n  device: cpu\n');
    const error = await loadError(file);
    expect(error.message).toBe(`${file}: /engine/model: expected a string, got nothing (required)`);
  });

  test('missing required section', async () => {
    const error = await loadError(await configFile('name: x\n'));
    expect(error.path).toBe('/engine');
    expect(error.expected).toBe('a mapping');
  });

  test('range: minimum, exclusive minimum and maximum', async () => {
    const file = await configFile('engine:\n  model: m\ndecoding:\n  temperature: 0\n  topP: 1.5\n  numCandidates: 0\n');
    const error = await loadError(file);
    expect(error.problems.map((problem) => problem.message)).toEqual([
      `${file}: /decoding/numCandidates: expected a number >= 1, got 0`,
      `${file}: /decoding/temperature: expected a number > 0, got 0`,
      `${file}: /decoding/topP: expected a number <= 1, got 1.5`,
    ]);
    // All of them in the one message, so a user fixes them in one go.
    expect(error.message.split('\n')).toHaveLength(3);
  });

  test('a rule across fields: minNewTokens <= maxNewTokens', async () => {
    const file = await configFile('engine:\n  model: m\ndecoding:\n  minNewTokens: 50\n  maxNewTokens: 10\n');
    const error = await loadError(file);
    expect(error.message).toBe(`${file}: /decoding/minNewTokens: expected at most maxNewTokens (10), got 50`);
  });

  test('an unsupported history store scheme', async () => {
    const file = await configFile('engine:\n  model: m\nhistory:\n  store: mongodb://x\n');
    const error = await loadError(file);
    expect(error.path).toBe('/history/store');
    expect(error.message).toContain('expected a string matching ^(memory|sqlite|file|redis|rediss)://, got "mongodb://x"');
  });

  test('a plugin section of the wrong type', async () => {
    const file = await configFile('engine:\n  model: m\nplugins:\n  mmi: [1]\n');
    const error = await loadError(file);
    expect(error.message).toBe(`${file}: /plugins/mmi: expected a mapping or true or false or empty, got an array [1]`);
  });

  test('a key with a slash is escaped in the pointer', async () => {
    const file = await configFile('engine:\n  model: m\nselection:\n  weights:\n    safety/x: high\n');
    const error = await loadError(file);
    expect(error.path).toBe('/selection/weights/safety~1x');
  });
});

describe('environment variables', () => {
  test('${VAR} and ${VAR:-default} are substituted; the schema then coerces numbers', async () => {
    const file = await configFile(
      'name: ${BOT_NAME}\nengine:\n  model: ${MODEL_DIR:-./models/default}\nhistory:\n  store: redis://${REDIS_HOST:-localhost}:6379\n  maxTurns: ${TURNS}\nselection:\n  fallback: costs $${PRICE}\n',
    );
    const loaded = await loadConfig(file, { env: { BOT_NAME: 'everest', TURNS: '7', REDIS_HOST: '' } });
    expect(loaded.config.name).toBe('everest');
    expect(loaded.config.engine.model).toBe('./models/default');
    expect(loaded.config.history.store).toBe('redis://localhost:6379');
    expect(loaded.config.history.maxTurns).toBe(7);
    expect(loaded.config.selection.fallback).toBe('costs ${PRICE}');
  });

  test('an unset variable is an error naming the variable and the path', async () => {
    const file = await configFile('engine:\n  model: m\nadapters:\n  discord:\n    token: ${DISCORD_TOKEN}\n');
    const error = await loadError(file);
    expect(error.path).toBe('/adapters/discord/token');
    expect(error.message).toBe(
      `${file}: /adapters/discord/token: environment variable DISCORD_TOKEN is not set (set it, write \${DISCORD_TOKEN:-default}, or disable this section)`,
    );
  });

  test('a malformed placeholder is an error', async () => {
    const file = await configFile('engine:\n  model: ${MODEL DIR}\n');
    const error = await loadError(file);
    expect(error.path).toBe('/engine/model');
    expect(error.expected).toContain('${NAME} or ${NAME:-default}');
  });

  test('disabled or absent adapters do not require their variables', async () => {
    const file = await configFile(
      'engine:\n  model: m\nadapters:\n  discord: false\n  slack:\n    enabled: false\n    botToken: ${SLACK_BOT_TOKEN}\n  terminal:\n  web: true\n  custom:\n    enabled: true\n    port: 3\nplugins:\n  mmi:\n    enabled: false\n    model: ${MMI_MODEL}\n',
    );
    const loaded = await loadConfig(file, { env: {} });
    expect(loaded.config.adapters).toEqual({ discord: false, slack: false, terminal: {}, web: {}, custom: { port: 3 } });
    expect(loaded.config.plugins).toEqual({ mmi: false });
  });

  test('the same adapter, enabled, requires its variable', async () => {
    const file = await configFile('engine:\n  model: m\nadapters:\n  slack:\n    botToken: ${SLACK_BOT_TOKEN}\n');
    const error = await loadError(file);
    expect(error.path).toBe('/adapters/slack/botToken');
    const loaded = await loadConfig(file, { env: { SLACK_BOT_TOKEN: 'xoxb-1' } });
    expect(loaded.config.adapters.slack).toEqual({ botToken: 'xoxb-1' });
    expect(loaded.warnings).toEqual([]);
  });

  test('enabledWhen starts a section only when its variable is set', async () => {
    const file = await configFile('engine:\n  model: m\nadapters:\n  discord:\n    enabledWhen: DISCORD_TOKEN\n    token: ${DISCORD_TOKEN}\n');
    expect((await loadConfig(file, { env: {} })).config.adapters).toEqual({ discord: false });
    expect((await loadConfig(file, { env: { DISCORD_TOKEN: '' } })).config.adapters).toEqual({ discord: false });
    expect((await loadConfig(file, { env: { DISCORD_TOKEN: 'abc' } })).config.adapters).toEqual({ discord: { token: 'abc' } });
  });

  test('a secret written as a literal loads with a warning that does not repeat it', async () => {
    const file = await configFile('engine:\n  model: m\nadapters:\n  discord:\n    token: abc.def.ghi\n    tokenizer: ./not-a-secret\n');
    const loaded = await loadConfig(file, { env: {} });
    expect(loaded.warnings).toHaveLength(1);
    expect(loaded.warnings![0]).toMatch(new RegExp(`^${escape(file)}: /adapters/discord/token: holds a literal secret`));
    expect(loaded.warnings![0]).not.toContain('abc.def.ghi');
  });

  test('engine.url and engine.apiKey: the key from the environment, a literal one warned about, a URL checked', async () => {
    const file = await configFile('engine:\n  model: m\n  url: http://gpu-box:8000/v1\n  apiKey: ${ENGINE_KEY}\n');
    const loaded = await loadConfig(file, { env: { ENGINE_KEY: 'k-123' } });
    expect(loaded.config.engine).toMatchObject({ url: 'http://gpu-box:8000/v1', apiKey: 'k-123', timeoutMs: 120000, retryForMs: 30000 });
    expect(loaded.warnings).toEqual([]);
    const literal = await loadConfig(await configFile('engine:\n  model: m\n  url: http://gpu-box:8000/v1\n  apiKey: sk-literal\n'), { env: {} });
    expect(literal.warnings).toHaveLength(1);
    expect(literal.warnings![0]).toMatch(/\/engine\/apiKey: holds a literal secret/);
    expect(literal.warnings![0]).not.toContain('sk-literal');
    const error = await loadError(await configFile('engine:\n  model: m\n  url: gpu-box:8000\n'));
    expect(error.path).toBe('/engine/url');
  });
});

describe('the published schemas', () => {
  /** Pointers of properties without a description (editors show it on autocomplete). */
  function undescribed(schema: Record<string, unknown>, pointer = ''): string[] {
    const missing: string[] = [];
    for (const [name, child] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      // The bot's decoding repeats property names only to give defaults; the $ref describes them.
      const defaultsOnly = Object.keys(child).every((key) => key === 'default');
      if (!defaultsOnly && typeof child.description !== 'string') missing.push(`${pointer}/properties/${name}`);
      missing.push(...undescribed(child, `${pointer}/properties/${name}`));
    }
    for (const [name, child] of Object.entries((schema.$defs ?? {}) as Record<string, Record<string, unknown>>)) {
      missing.push(...undescribed(child, `${pointer}/$defs/${name}`));
    }
    if (schema.items && typeof schema.items === 'object') missing.push(...undescribed(schema.items as Record<string, unknown>, `${pointer}/items`));
    return missing;
  }

  test.each(['bot.schema.json', 'preset.schema.json'])('%s has an $id and a description on every property', async (name) => {
    const schema = JSON.parse(await readFile(join(builtinConfigDir(), name), 'utf8')) as Record<string, unknown>;
    expect(schema.$id).toBe(`https://unpkg.com/banter/config/${name}`);
    expect(undescribed(schema)).toEqual([]);
  });
});

describe('validatePluginConfig', () => {
  const schema = {
    type: 'object',
    additionalProperties: false,
    required: ['model'],
    properties: {
      model: { type: 'string' },
      weight: { type: 'number', minimum: 0, default: 0.5 },
      mode: { anyOf: [{ const: 'fast' }, { type: 'integer' }] },
    },
  };

  test('applies defaults to a copy', () => {
    const value = { model: 'backward' };
    const result = validatePluginConfig<{ model: string; weight: number }>('mmi', schema, value, { file: 'bot.yaml', path: '/plugins/mmi' });
    expect(result).toEqual({ model: 'backward', weight: 0.5 });
    expect(value).toEqual({ model: 'backward' });
  });

  test('reports problems under the section path, in the config error style', () => {
    let error: unknown;
    try {
      validatePluginConfig('mmi', schema, { weight: -1, modle: 'x', mode: 'slow' }, { file: 'bot.yaml', path: '/plugins/mmi' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((problem) => problem.message)).toEqual([
      'bot.yaml: /plugins/mmi/model: expected a string, got nothing (required)',
      'bot.yaml: /plugins/mmi/modle: expected one of model, weight, mode (unknown property; did you mean "model"?)',
      'bot.yaml: /plugins/mmi/weight: expected a number >= 0, got -1',
      'bot.yaml: /plugins/mmi/mode: expected "fast" or an integer, got "slow"',
    ]);
  });

  test('a broken plugin schema is blamed on the plugin', () => {
    expect(() => validatePluginConfig('bad', { type: 'object', properties: { x: { type: 'strnig' } } }, {}, { file: 'f', path: '/plugins/bad' })).toThrow(
      /^bad: its configSchema is not a valid JSON Schema/,
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
