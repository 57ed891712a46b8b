/**
 * The bot the load benchmark measures, as a child process of the driver (so the driver's sockets do
 * not share its event loop, and its RSS is the bot's own): the shipped config (model, decoding,
 * plugins) with only the web adapter on a free loopback port. Args: maxConcurrentGenerations, and
 * optionally JSON of config sections merged in (the workers benchmark's engine.url and Redis).
 * Between `begin` and `end` it records its event-loop delay and samples its RSS.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createBot } from '../../core/bot.js';
import { loadConfig } from '../../core/config/index.js';
import type { BotMessage, DriverMessage } from './protocol.js';

/** How often RSS is sampled within a phase; peaks shorter than this may be missed. */
const RSS_SAMPLE_MS = 50;

const concurrency = Number(process.argv[2]);
const loaded = await loadConfig(undefined, { env: {} });
loaded.config.engine.maxConcurrentGenerations = concurrency;
loaded.config.adapters = { web: { port: 0, host: '127.0.0.1' } };
loaded.config.log.level = 'error';
// Optional second argument (bench/load/workers.ts): JSON of config sections to merge in (engine.url, history, coordination).
for (const [section, value] of Object.entries(JSON.parse(process.argv[3] ?? '{}') as Record<string, object>)) {
  const config = loaded.config as unknown as Record<string, object>;
  config[section] = { ...config[section], ...value };
}
const bot = await createBot(loaded);
await bot.start();
const web = bot.adapters.find((adapter) => adapter.name === 'web');
if (!web?.url) throw new Error('the web adapter did not start');

const send = (message: BotMessage) => process.send!(message);
const delay = monitorEventLoopDelay({ resolution: 10 });
let peakRss = 0;
let sampler: NodeJS.Timeout | undefined;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
};

process.on('message', (message: DriverMessage) => {
  if (message.type === 'begin') {
    delay.reset();
    delay.enable();
    peakRss = 0;
    sample();
    sampler = setInterval(sample, RSS_SAMPLE_MS);
    return;
  }
  delay.disable();
  clearInterval(sampler);
  sample();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  send({
    type: 'phase',
    eventLoopDelay: { p50_ms: ms(delay.percentile(50)), p99_ms: ms(delay.percentile(99)), max_ms: ms(delay.max) },
    peakRssMb: Math.round(peakRss / 2 ** 20),
  });
});
process.on('disconnect', () => {
  void bot.stop().then(() => process.exit(0));
});
send({ type: 'ready', socketUrl: `${web.url.replace(/^http/, 'ws').replace(/\/$/, '')}/ws` });
