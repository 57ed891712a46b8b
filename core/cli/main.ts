#!/usr/bin/env node
/** The `banter` command line. */
import { Command as Program } from 'commander';
import { createBot, type Bot } from '../bot.js';
import { checkConfig } from '../check.js';
import { loadConfig, loadPresets, presetDirs } from '../config/index.js';
import { installProcessGuards } from '../process-guards.js';
import { registerEngineCommands } from './engine.js';
import { registerFeedbackCommands } from './feedback.js';
import { registerModelCommands } from './models.js';

const program = new Program('banter').description('Chat bots that run their own dialogue model').showHelpAfterError();

/** A one-line progress display on stderr while the model loads. */
function progressLine(): { update: (message: string, fraction?: number) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let shown = false;
  return {
    update(message, fraction) {
      const text = `${message}${fraction === undefined ? '' : ` ${Math.round(fraction * 100)}%`}`;
      if (tty) process.stderr.write(`\r\x1b[K${text}`);
      else process.stderr.write(`${text}\n`);
      shown = true;
    },
    done() {
      if (tty && shown) process.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * Runs a bot until an adapter finishes on its own (terminal `/quit`), a signal arrives, or the
 * process guards give up; errors that escape a handler meanwhile are logged, not fatal.
 */
async function runUntilDone(bot: Bot): Promise<void> {
  const finished = bot.adapters.map((a) => a.finished).filter((p): p is Promise<void> => Boolean(p));
  let removeGuards = () => {};
  const stopped = new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    removeGuards = installProcessGuards({
      logger: bot.logger,
      onFatal: () => {
        process.exitCode = 1;
        done();
      },
    });
  });
  await Promise.race(finished.length ? [Promise.race(finished), stopped] : [stopped]);
  await bot.stop();
  removeGuards();
}

/** Where to open an adapter's page; the web chat's token is a secret, so only where it goes is said. */
function announce(bot: Bot): void {
  for (const adapter of bot.adapters) {
    if (!adapter.url) continue;
    const web = bot.config.adapters[adapter.name] as { accessToken?: string } | undefined;
    const token = typeof web?.accessToken === 'string' && web.accessToken !== '' ? ' (add ?token= and the access token to open it)' : '';
    console.log(`banter: ${adapter.name} chat at ${adapter.url}${token}`);
  }
}

program
  .command('chat')
  .description('Chat with the bot in this terminal')
  .option('-c, --config <file>', 'bot config file (YAML or JSON); default: the shipped config')
  .option('-p, --preset <name>', 'preset to chat with')
  .action(async (options: { config?: string; preset?: string }) => {
    const loaded = await loadConfig(options.config);
    const terminal = loaded.config.adapters.terminal;
    loaded.config.adapters = {
      terminal: { ...(typeof terminal === 'object' && terminal ? terminal : {}), ...(options.preset ? { preset: options.preset } : {}) },
    };
    const progress = progressLine();
    const bot = await createBot(loaded, { onProgress: progress.update });
    progress.done();
    await bot.start();
    await runUntilDone(bot);
  });

program
  .command('start')
  .description('Start the bot with every adapter its config enables')
  .option('-c, --config <file>', 'bot config file (YAML or JSON); default: the shipped config')
  .action(async (options: { config?: string }) => {
    const loaded = await loadConfig(options.config);
    const progress = progressLine();
    const bot = await createBot(loaded, { onProgress: progress.update });
    progress.done();
    await bot.start();
    announce(bot);
    await runUntilDone(bot);
  });

const config = program.command('config').description('Work with config files');
config
  .command('check')
  .description('Validate a bot config and its presets without starting anything')
  .argument('<file>', 'config file')
  .action(async (file: string) => {
    const problems = await checkConfig(file);
    if (problems.length === 0) {
      console.log(`${file}: OK`);
      return;
    }
    for (const problem of problems) console.error(problem.message);
    process.exitCode = 1;
  });

const presets = program.command('presets').description('List or show presets');
presets
  .command('list')
  .option('-c, --config <file>', 'bot config file')
  .action(async (options: { config?: string }) => {
    for (const preset of await configuredPresets(options.config)) console.log(`${preset.name}${preset.description ? ` - ${preset.description}` : ''}`);
  });
presets
  .command('show')
  .argument('<name>', 'preset name')
  .option('-c, --config <file>', 'bot config file')
  .action(async (name: string, options: { config?: string }) => {
    const preset = (await configuredPresets(options.config)).find((p) => p.name === name);
    if (!preset) {
      console.error(`No preset named "${name}".`);
      process.exitCode = 1;
      return;
    }
    console.log(JSON.stringify(preset, null, 2));
  });

registerModelCommands(program);
registerEngineCommands(program);
registerFeedbackCommands(program);

async function configuredPresets(file?: string) {
  return loadPresets(presetDirs(await loadConfig(file)));
}

program.parseAsync().catch((error: unknown) => {
  // Config and model errors are written for the user: print the message, not a stack.
  console.error(`banter: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
