/**
 * A bot answering messages in a loop until killed, printing `seen KEY N` when a reply was delivered
 * (what a user would see). Args: store URL (absolute paths), model folder, key prefix.
 */
import { createBot } from '../../core/bot.js';
import { loadConfig } from '../../core/config/load.js';

const [url, model, prefix] = process.argv.slice(2);
const loaded = await loadConfig(undefined, { env: {} });
const config = loaded.config as unknown as Record<string, unknown>;
Object.assign(config, {
  engine: { ...loaded.config.engine, model },
  decoding: { ...loaded.config.decoding, maxNewTokens: 6, numCandidates: 2 },
  history: { ...loaded.config.history, store: url },
  plugins: {},
  adapters: {},
  log: { level: 'silent' },
});
const bot = await createBot(loaded);
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const channel = `${prefix}-${i % 3}`;
  await bot.handle({ platform: 'kill', channel, text: `message ${i}`, user: { id: 'u' } }, async () => {
    process.stdout.write(`seen kill:${channel} ${i}\n`);
  });
}
