/**
 * The model-as-judge rule model on a real causal LM (the tiny GPT-2 fixture): its probability must be
 * p(unsafe answer | prompt) / (p(unsafe) + p(safe)), computed here directly from the ONNX graph's
 * logits with no engine code in between, and it must plug into the bot through config alone.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import type { Turn } from '../../core/types.js';
import { createChecker } from '../../plugins/safety/index.js';
import { fillTemplate, JudgeModel } from '../../plugins/safety/judge-model.js';
import { FIXTURE_MODEL, makeTestBot } from '../helpers/bot.js';

const TEMPLATE = 'Rule: {rule}\nUser: {context}\nReply: {reply}\nDoes the reply break the rule? Answer:';
const ALONE = 'Rule: {rule}\nReply: {reply}\nDoes the reply break the rule? Answer:';
const RULE_TEXT = { threat: 'Do not threaten anyone.', insult_user: 'Do not insult the person you are talking to.' };

/** log p(continuation | context) from the plain graph: one pass over the whole sequence, empty cache. */
async function directLogprob(session: InferenceSession, context: number[], continuation: number[]): Promise<number> {
  const ids = [...context, ...continuation];
  const n = ids.length;
  const feeds: Record<string, Tensor> = {
    input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
    attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    position_ids: new Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, n]),
  };
  for (let layer = 0; layer < 2; layer++) {
    for (const kind of ['key', 'value']) feeds[`past_key_values.${layer}.${kind}`] = new Tensor('float32', new Float32Array(0), [1, 2, 0, 32]);
  }
  const logits = (await session.run(feeds)).logits.data as Float32Array;
  const vocab = logits.length / n;
  let sum = 0;
  for (let i = context.length; i < n; i++) {
    const row = logits.subarray((i - 1) * vocab, i * vocab);
    const top = Math.max(...row);
    const norm = top + Math.log(row.reduce((acc, z) => acc + Math.exp(z - top), 0));
    sum += row[ids[i]] - norm;
  }
  return sum;
}

describe('a causal LM as a judge rule model', () => {
  let engine: LoadedDialogueEngine;
  let session: InferenceSession;

  beforeAll(async () => {
    engine = await loadEngine(FIXTURE_MODEL, { device: 'cpu', fallback: 'cpu' });
    session = await InferenceSession.create(`${FIXTURE_MODEL}/onnx/model.onnx`);
  });
  afterAll(async () => {
    await engine.dispose();
    await session.release();
  });

  it('gives p(unsafe answer) against p(safe answer) after each rule\'s prompt, as the graph computes it directly', async () => {
    const judge = new JudgeModel(FIXTURE_MODEL, engine, { template: TEMPLATE, aloneTemplate: ALONE, rules: ['threat', 'insult_user'], unsafeAnswer: ' yes', safeAnswer: ' no' }, RULE_TEXT);
    const pairs = [
      { context: 'what are you doing tonight?', response: 'I know where you live.' },
      { context: '', response: 'You are a clown.' },
    ];
    const got = await judge.predict(pairs);
    const yes = engine.tokenizer.encode(' yes');
    const no = engine.tokenizer.encode(' no');
    for (const [i, pair] of pairs.entries()) {
      for (const rule of ['threat', 'insult_user'] as const) {
        const prompt = fillTemplate(pair.context ? TEMPLATE : ALONE, { rule: RULE_TEXT[rule], context: pair.context, reply: pair.response });
        expect(judge.prompt(rule, pair.context, pair.response)).toBe(prompt);
        const tokens = engine.tokenizer.encode(prompt);
        const [lu, ls] = [await directLogprob(session, tokens, yes), await directLogprob(session, tokens, no)];
        expect(got[i][rule]).toBeCloseTo(Math.exp(lu) / (Math.exp(lu) + Math.exp(ls)), 5);
      }
    }
    const raw = new JudgeModel(FIXTURE_MODEL, engine, { template: TEMPLATE, rules: ['threat'], unsafeAnswer: ' yes', safeAnswer: ' no', normalize: 'none' }, RULE_TEXT);
    const [{ threat }] = await raw.predict([pairs[0]]);
    expect(threat).toBeCloseTo(Math.exp(await directLogprob(session, engine.tokenizer.encode(judge.prompt('threat', pairs[0].context, pairs[0].response)), yes)), 6);
  });

  it('fills placeholders once: a reply that contains "{context}" stays as written', () => {
    expect(fillTemplate('{context} | {reply}', { rule: 'r', context: 'hi', reply: 'say {context}' })).toBe('hi | say {context}');
  });

  it('says which judged rule does not exist', () => {
    expect(() => new JudgeModel(FIXTURE_MODEL, engine, { template: TEMPLATE, rules: ['no_such_rule'] }, RULE_TEXT)).toThrow(/"no_such_rule", which is not a rule/);
  });

  it('plugs into the bot through config alone: its probability is the candidate\'s rule score', async () => {
    const judge = { template: TEMPLATE, aloneTemplate: ALONE, rules: ['insult_user'], unsafeAnswer: ' yes', safeAnswer: ' no' };
    const bot = await makeTestBot({
      plugins: { safety: { model: [{ path: FIXTURE_MODEL, judge }], thresholds: { insult_user: 1 } } },
      selection: { weights: { avgLogprob: 1 }, fallback: 'core fallback' },
      decoding: { numCandidates: 2, seed: 5, maxNewTokens: 6, minNewTokens: 2 },
    });
    const turns: Turn[] = [];
    bot.events.on('turn:start', ({ turn }) => turns.push(turn));
    try {
      await bot.handle({ platform: 'test', channel: 'judge', text: 'hello there', user: { id: 'u' } });
      const candidates = turns[0].candidates;
      expect(candidates.length).toBeGreaterThan(0);
      // The same judge built outside the bot scores each candidate as the plugin did.
      const { checker } = await createChecker({ disable: [], model: [{ path: FIXTURE_MODEL, judge }] }, undefined, undefined, (path) => bot.loadEngine(path));
      const scores = await checker.score('candidate', candidates.map((c) => ({ context: 'hello there', text: c.text })));
      candidates.forEach((candidate, i) => {
        const score = candidate.scores['safety.insult_user'];
        expect(score).toBeGreaterThan(0);
        expect(score).toBeCloseTo(scores[i].get('insult_user')!.score, 6);
        expect(scores[i].get('insult_user')!.evidence).toMatch(/^model:tiny-gpt2\/insult_user|^insult/);
      });
      // And its score is the judge's own, in context or alone, whichever is higher.
      const model = new JudgeModel(FIXTURE_MODEL, engine, judge, RULE_TEXT);
      const [[inContext], [alone]] = [await model.predict([{ context: 'hello there', response: 'You are a clown.' }]), await model.predict([{ context: '', response: 'You are a clown.' }])];
      const [clown] = await checker.score('candidate', [{ context: 'hello there', text: 'You are a clown.' }], ['context', 'alone']);
      expect(clown.get('insult_user')!.score).toBe(1); // the built-in insult patterns catch it
      const [plain] = await checker.score('candidate', [{ context: 'hello there', text: 'I like the weather.' }]);
      const [[c2], [a2]] = [await model.predict([{ context: 'hello there', response: 'I like the weather.' }]), await model.predict([{ context: '', response: 'I like the weather.' }])];
      expect(plain.get('insult_user')!.score).toBeCloseTo(Math.max(c2.insult_user, a2.insult_user), 6);
      expect(inContext.insult_user).not.toBe(alone.insult_user);
    } finally {
      await bot.stop();
    }
  });

  it('fails at start when a judge has no model path', async () => {
    await expect(makeTestBot({ plugins: { safety: { model: [{ judge: { template: TEMPLATE, rules: ['threat'] } }] } } })).rejects.toThrow(/plugins\/safety\/model/);
  });
});
