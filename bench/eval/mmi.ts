/**
 * `npm run eval -- mmi [--forward DIR] [--backward DIR] [--data FILE] [--contexts N] [--candidates N] [--seed S]`
 *
 * On validation contexts (tools/.work/data/valid.jsonl, written by tools/data/prepare.py), the real
 * bot generates N candidates per context with the mmi plugin on; from the SAME candidates it picks
 * once by the forward model (weights {avgLogprob: 1}) and once by DialoGPT's pure MMI ({mmi: 1}).
 * Reports distinct-1/2 and average length of both picks, how often MMI changed the pick, and how
 * often the backward model prefers the reference reply over a random other context's reply.
 * Without the shipped models it falls back to the test fixture (numbers then only show it runs).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createBot } from '../../core/bot.js';
import { loadConfig } from '../../core/config/index.js';
import { packageRoot } from '../../core/config/package-root.js';
import { selectCandidate } from '../../core/selection.js';
import type { Candidate, HistoryTurn, Turn } from '../../core/types.js';
import { createBackwardView } from '../../plugins/mmi/backward-view.js';
import { mmiScores } from '../../plugins/mmi/index.js';

interface Dialogue {
  id: string;
  turns: { speaker: 'user' | 'bot'; text: string }[];
}

interface EvalContext {
  history: HistoryTurn[];
  message: string;
  reference: string;
}

/** distinct-n: unique n-grams over all n-grams of the replies (lower-cased words). */
export function distinct(replies: string[], n: number): number {
  const seen = new Set<string>();
  let total = 0;
  for (const reply of replies) {
    const words = reply.toLowerCase().split(/\s+/).filter(Boolean);
    for (let i = 0; i + n <= words.length; i++) {
      seen.add(words.slice(i, i + n).join(' '));
      total++;
    }
  }
  return total ? seen.size / total : 0;
}

const wordCount = (text: string) => text.split(/\s+/).filter(Boolean).length;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const round = (x: number) => Math.round(x * 1000) / 1000;

/** One context per dialogue: its first bot reply that follows a user message (with the turns before it). */
function contextsOf(dialogues: Dialogue[], limit: number): EvalContext[] {
  const out: EvalContext[] = [];
  for (const dialogue of dialogues) {
    const at = dialogue.turns.findIndex((turn, i) => i > 0 && turn.speaker === 'bot' && dialogue.turns[i - 1].speaker === 'user');
    if (at < 0) continue;
    const before = dialogue.turns.slice(0, at - 1).map((t) => ({ role: t.speaker, text: t.text, at: 0 }));
    out.push({ history: before, message: dialogue.turns[at - 1].text, reference: dialogue.turns[at].text });
    if (out.length >= limit) break;
  }
  return out;
}

export async function evalMmi(args: string[]): Promise<Record<string, unknown>> {
  const option = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 && args[at + 1] ? args[at + 1] : fallback;
  };
  const root = packageRoot();
  const dataFile = resolve(option('--data', join(root, 'tools', '.work', 'data', 'valid.jsonl')));
  if (!existsSync(dataFile)) throw new Error(`No validation dialogues at ${dataFile}: run \`python3 tools/data/prepare.py\` first, or pass --data FILE (dialogue JSONL)`);
  const limit = Number(option('--contexts', '100'));
  const candidates = Number(option('--candidates', '8'));
  const seed = Number(option('--seed', '1'));

  const notes: string[] = [];
  const temp = await mkdtemp(join(tmpdir(), 'banter-eval-mmi-'));
  let forward = resolve(option('--forward', join(root, 'models', 'banter-chat')));
  let backward = resolve(option('--backward', join(root, 'models', 'banter-chat-backward')));
  if (!existsSync(join(forward, 'config.json')) || !existsSync(join(backward, 'config.json'))) {
    const fixture = join(root, 'test', 'fixtures', 'tiny-gpt2');
    notes.push(`models missing (${forward}, ${backward}): using the test fixture and a backward view of it; the figures only show the eval runs`);
    forward = fixture;
    backward = await createBackwardView(fixture, join(temp, 'backward'));
  }

  const dialogues = (await readFile(dataFile, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Dialogue);
  const contexts = contextsOf(dialogues, limit);

  const loaded = await loadConfig();
  const config = loaded.config;
  config.engine = { ...config.engine, model: forward };
  config.decoding = { ...config.decoding, strategy: 'sample', numCandidates: candidates, seed };
  config.history = { ...config.history, store: 'memory://' };
  config.selection = { ...config.selection, weights: { avgLogprob: 1 } };
  config.presets = { ...config.presets, default: 'default', routes: {} };
  config.plugins = { mmi: { model: backward, lastTurns: 1 } };
  config.adapters = {};
  config.log = { level: 'silent' };
  const bot = await createBot(loaded);

  try {
    const backwardEngine = await bot.loadEngine(backward);
    // The turn of the message being evaluated, as the pipeline left it after filtering.
    const seen: { turn?: Turn } = {};
    bot.events.on('candidates', ({ turn }) => (seen.turn = turn));

    const baseline: string[] = [];
    const mmi: string[] = [];
    const allCandidates: string[] = [];
    let changed = 0;
    let referencePreferred = 0;
    for (const [i, context] of contexts.entries()) {
      const address = { platform: 'eval', channel: String(i) };
      const conversation = await bot.conversation(address);
      conversation.history = context.history;
      await bot.saveConversation(conversation);
      await bot.handle({ ...address, text: context.message, user: { id: 'eval' } });
      const turn = seen.turn;
      seen.turn = undefined;
      const live = (turn?.candidates ?? []).filter((c: Candidate) => !c.rejected);
      if (live.length > 0) {
        const byForward = live[selectCandidate(live, { avgLogprob: 1 })];
        const byMmi = live[selectCandidate(live, { mmi: 1 })];
        baseline.push(byForward.text);
        mmi.push(byMmi.text);
        allCandidates.push(...live.map((c) => c.text));
        if (byForward !== byMmi) changed++;
      }
      // The reference reply against another context's reference, both given this context's message.
      const other = contexts[(i + Math.max(1, Math.floor(contexts.length / 2))) % contexts.length].reference;
      const [ref, random] = await mmiScores(backwardEngine, [context.reference, other], [{ role: 'user', text: context.message }], true);
      if (ref > random) referencePreferred++;
    }

    const summary = (replies: string[]) => ({
      distinct1: round(distinct(replies, 1)),
      distinct2: round(distinct(replies, 2)),
      avgWords: round(mean(replies.map(wordCount))),
    });
    return {
      eval: 'mmi',
      data: dataFile,
      forward,
      backward,
      contexts: contexts.length,
      candidatesPerContext: candidates,
      seed,
      withoutMmi: { weights: { avgLogprob: 1 }, ...summary(baseline) },
      withMmi: { weights: { mmi: 1 }, ...summary(mmi) },
      allCandidates: summary(allCandidates),
      mmiChangedChoice: round(changed / Math.max(1, baseline.length)),
      referencePreferredOverRandom: round(referencePreferred / Math.max(1, contexts.length)),
      references: summary(contexts.map((c) => c.reference)),
      notes,
    };
  } finally {
    await bot.stop();
    await rm(temp, { recursive: true, force: true });
  }
}
