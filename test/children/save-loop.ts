/**
 * Saves turns in a loop until killed, printing `ack KEY N` once each save resolved. Args: store
 * URL, base folder, key prefix, padding characters per turn (so the store is megabytes, as a real
 * one becomes).
 */
import { openHistoryStore } from '../../core/history/store.js';
import type { Conversation } from '../../core/types.js';

const [url, baseDir, prefix, padding] = process.argv.slice(2);
const KEYS = 4;
const KEPT_TURNS = 20;
const pad = 'x'.repeat(Number(padding));
const store = await openHistoryStore(url, baseDir);
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const key = `${prefix}:${i % KEYS}`;
  const conversation: Conversation = (await store.load(key)) ?? { key, preset: 'default', history: [], state: {} };
  conversation.history = [...conversation.history, { role: 'user' as const, text: `turn ${i} ${pad}`, at: i }].slice(-KEPT_TURNS);
  await store.save(conversation);
  process.stdout.write(`ack ${key} ${i}\n`);
}
