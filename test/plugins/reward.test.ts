/**
 * The reward plugin: a sequence-classifier reward model (ONNX) scores every candidate as
 * `reward`, batched; its scores are the model's own, run directly with onnxruntime and by torch.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairClassifier } from '../../core/classifier/pair-classifier.js';
import { packageRoot } from '../../core/config/package-root.js';
import type { Turn } from '../../core/types.js';
import createRewardPlugin from '../../plugins/reward/index.js';
import { makeTestBot } from '../helpers/bot.js';

const FIXTURE = join(packageRoot(), 'test', 'fixtures', 'tiny-reward-model');
const BERT_FIXTURE = join(packageRoot(), 'test', 'fixtures', 'tiny-bert-classifier');
interface Case {
  context: string;
  response: string;
  inputIds: number[];
  score: number;
}

let session: InferenceSession;
let classifier: PairClassifier;
/** The model run directly: one pair, unpadded, by onnxruntime. */
async function direct(ids: number[]): Promise<number> {
  const shape = [1, ids.length];
  const out = await session.run({ input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), shape), attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), shape) });
  return (out.logits.data as Float32Array)[0];
}

beforeAll(async () => {
  session = await InferenceSession.create(join(FIXTURE, 'onnx', 'model.onnx'));
  classifier = await PairClassifier.load(FIXTURE);
});
afterAll(async () => {
  await session?.release();
  await classifier?.dispose();
});

describe('the reward model folder', () => {
  it('is read as torch reads it: the pair template, truncation, and the scores tools/reward/make_fixture.py computed', async () => {
    const cases = JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8')) as Case[];
    expect(classifier.labels).toEqual(['reward']);
    for (const c of cases) {
      expect(classifier.encode(c.context, c.response).ids).toEqual(c.inputIds);
      expect(await direct(c.inputIds)).toBeCloseTo(c.score, 4);
    }
    // One padded batch gives each pair the score it has alone.
    const batched = await classifier.logits(cases);
    batched.forEach((row, i) => expect(row[0]).toBeCloseTo(cases[i].score, 4));
  });
});

describe('the reward plugin in the pipeline', () => {
  it('scores every candidate as `reward` in batches, exactly as the ONNX model run directly', async () => {
    const turns: Turn[] = [];
    const bot = await makeTestBot({ decoding: { numCandidates: 6, seed: 9, maxNewTokens: 10 } as never, plugins: { reward: { model: FIXTURE, batchSize: 4 } } });
    try {
      bot.events.on('turn:end', ({ turn }) => turns.push(turn));
      await bot.handle({ platform: 'test', channel: 'reward', text: 'How tall is Mount Everest?', user: { id: 'u' } });
      const [turn] = turns;
      const scored = turn.candidates.filter((c) => c.text.trim());
      expect(scored.length).toBeGreaterThan(4);
      for (const candidate of scored) {
        const { ids } = classifier.encode('How tall is Mount Everest?', candidate.text);
        expect(candidate.scores.reward).toBeCloseTo(await direct(ids), 4);
      }
      expect(new Set(scored.map((c) => c.scores.reward.toFixed(4))).size).toBeGreaterThan(1);
      expect(turn.trace.some((t) => t.stage === 'score' && t.by === 'reward')).toBe(true);
    } finally {
      await bot.stop();
    }
  });

  it("with several labels, gives the chosen label's log-probability", async () => {
    const plugin = createRewardPlugin();
    const bot = await makeTestBot();
    const bert = await PairClassifier.load(BERT_FIXTURE);
    try {
      await plugin.setup!(bot, { model: BERT_FIXTURE, label: 'ok', device: 'cpu', contextTurns: 1, batchSize: 16 });
      const turn = { prompt: { persona: [], knowledge: [], history: [{ role: 'user', text: 'hello friend', at: 0 }] }, candidates: [{ text: 'you are an idiot!', scores: {} }] } as unknown as Turn;
      await plugin.score!(turn);
      const [logits] = await bert.logits([{ context: 'hello friend', response: 'you are an idiot!' }]);
      const probabilities = [...logits].map((z) => Math.exp(z) / [...logits].reduce((sum, y) => sum + Math.exp(y), 0));
      expect(turn.candidates[0].scores.reward).toBeCloseTo(Math.log(probabilities[0]), 5);
    } finally {
      await plugin.dispose!();
      await bert.dispose();
      await bot.stop();
    }
  });

  it('loads the shipped reward model when no model is named', async () => {
    const turns: Turn[] = [];
    const bot = await makeTestBot({ decoding: { numCandidates: 2, seed: 1, maxNewTokens: 6 } as never, plugins: { reward: {} } });
    try {
      bot.events.on('turn:end', ({ turn }) => turns.push(turn));
      await bot.handle({ platform: 'test', channel: 'shipped-reward', text: 'hello', user: { id: 'u' } });
      expect(turns[0].candidates.filter((c) => c.text.trim()).every((c) => Number.isFinite(c.scores.reward))).toBe(true);
    } finally {
      await bot.stop();
    }
  });

  it('fails at start on a label the model lacks, and on a folder that is not a model', async () => {
    await expect(makeTestBot({ plugins: { reward: { model: BERT_FIXTURE, label: 'helpful' } } })).rejects.toThrow(/plugins\/reward.*"helpful", which the model .* does not output \(its labels: ok, insult, medical\)/s);
    await expect(makeTestBot({ plugins: { reward: { model: join(packageRoot(), 'test', 'fixtures') } } })).rejects.toThrow(/plugins\/reward.*config\.json/s);
  });
});
