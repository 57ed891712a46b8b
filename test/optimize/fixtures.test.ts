/**
 * The Llama-family fixtures (tools/fixtures/make_fixtures.py) are what they claim to be: each
 * standard graph's cached decoding equals its full recompute, the fp32 graphs give torch's logits
 * (expected.json), and @huggingface/transformers loads every folder offline and computes the same
 * logits and greedy tokens from it. The converter's tests and the engine's tests build on these.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoModelForCausalLM, AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { runStandardStep, standardGraphShape, toFloat32, type Step } from '../../core/engine/optimize/standard-graph.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
env.allowRemoteModels = false;
env.localModelPath = FIXTURES;

type Dtype = 'fp32' | 'fp16' | 'q4' | 'q4f16';
interface Case {
  folder: string;
  file: string;
  dtype: Dtype;
  /** transformers.js' model_file_name where it is not `model`. */
  modelFileName?: string;
}

const CASES: Case[] = [
  { folder: 'tiny-llama', file: 'model.onnx', dtype: 'fp32' },
  { folder: 'tiny-llama', file: 'model_fp16.onnx', dtype: 'fp16' },
  { folder: 'tiny-llama', file: 'model_q4.onnx', dtype: 'q4' },
  { folder: 'tiny-llama', file: 'model_q4f16.onnx', dtype: 'q4f16' },
  { folder: 'tiny-qwen2', file: 'model.onnx', dtype: 'fp32' },
  { folder: 'tiny-gemma', file: 'model.onnx', dtype: 'fp32' },
  { folder: 'tiny-phi3', file: 'model.onnx', dtype: 'fp32' },
  { folder: 'tiny-llama-merged', file: 'decoder_model_merged.onnx', dtype: 'fp32', modelFileName: 'decoder_model_merged' },
];

/** Largest difference allowed between two runs of one graph (different shapes, threads, kernels; float16 logits near 30 are 0.03 apart). */
const SAME_GRAPH: Record<Dtype, number> = { fp32: 1e-4, fp16: 0.1, q4: 1e-4, q4f16: 0.1 };

interface Expected {
  prompt: string;
  prompt_ids: number[];
  last_logits: number[];
  greedy: { ids: number[]; max_new_tokens: number };
  padded_batch: { input_ids: number[][]; attention_mask: number[][]; last_logits: number[][] };
}

const readJson = <T>(folder: string, name: string): T => JSON.parse(readFileSync(path.join(FIXTURES, folder, name), 'utf8')) as T;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const mean = (x: ArrayLike<number>) => Array.from(x).reduce((sum, v) => sum + v, 0) / x.length;
  const [ma, mb] = [mean(a), mean(b)];
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** transformers' position ids for a (left-padded) mask: cumulative sum - 1, pads at 1. */
const positionsOf = (mask: number[][]) =>
  mask.map((row) => {
    let seen = 0;
    return row.map((m) => (m ? seen++ : 1));
  });

const row = (logits: Float32Array, vocab: number, index: number) => logits.subarray(index * vocab, (index + 1) * vocab);

async function open(c: Case) {
  const session = await InferenceSession.create(path.join(FIXTURES, c.folder, 'onnx', c.file), { logSeverityLevel: 3 });
  return { session, shape: standardGraphShape(session) };
}

describe.each(CASES)('$folder/onnx/$file', (c) => {
  const expected = readJson<Expected>(c.folder, 'expected.json');

  it('decoding with past equals a full recompute (left-padded batch, prefill then steps)', async () => {
    const { session, shape } = await open(c);
    const { input_ids: ids, attention_mask: mask } = expected.padded_batch;
    const positions = positionsOf(mask);
    const width = ids[0].length;
    const full = await runStandardStep(session, shape, { ids, mask, positions, past: null });
    const prefill = width - 4;
    const cut = (rows: number[][], from: number, to: number) => rows.map((r) => r.slice(from, to));
    let step: Step = { ids: cut(ids, 0, prefill), mask: cut(mask, 0, prefill), positions: cut(positions, 0, prefill), past: null };
    let result = await runStandardStep(session, shape, step);
    // Pad positions are left out: a pad's own query attends to nothing and averages whatever keys
    // the pass holds.
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < prefill; t++) {
        if (!mask[b][t]) continue;
        expect(maxDiff(row(result.logits, result.vocab, b * prefill + t), row(full.logits, full.vocab, b * width + t))).toBeLessThan(SAME_GRAPH[c.dtype]);
      }
    }
    for (let t = prefill; t < width; t++) {
      step = { ids: cut(ids, t, t + 1), mask: cut(mask, 0, t + 1), positions: cut(positions, t, t + 1), past: result.present };
      result = await runStandardStep(session, shape, step);
      expect(result.present[0].dims).toEqual([2, shape.kvHeads, t + 1, shape.headDim]);
      for (let b = 0; b < 2; b++) {
        expect(maxDiff(row(result.logits, result.vocab, b), row(full.logits, full.vocab, b * width + t))).toBeLessThan(SAME_GRAPH[c.dtype]);
      }
    }
    await session.release();
  });

  it("gives torch's logits (exactly for fp32, closely for fp16, correlated for 4 bits)", async () => {
    const { session, shape } = await open(c);
    const ids = [expected.prompt_ids];
    const mask = [ids[0].map(() => 1)];
    const { logits, vocab } = await runStandardStep(session, shape, { ids, mask, positions: positionsOf(mask), past: null });
    const last = row(logits, vocab, ids[0].length - 1);
    const batch = expected.padded_batch;
    const padded = await runStandardStep(session, shape, { ids: batch.input_ids, mask: batch.attention_mask, positions: positionsOf(batch.attention_mask), past: null });
    const width = batch.input_ids[0].length;
    const paddedLast = [0, 1].map((b) => row(padded.logits, vocab, b * width + width - 1));
    if (c.dtype === 'fp32') {
      expect(maxDiff(last, expected.last_logits)).toBeLessThan(1e-4);
      paddedLast.forEach((logitsOfRow, b) => expect(maxDiff(logitsOfRow, batch.last_logits[b])).toBeLessThan(1e-4));
    } else if (c.dtype === 'fp16') {
      expect(maxDiff(last, expected.last_logits)).toBeLessThan(0.1);
      paddedLast.forEach((logitsOfRow, b) => expect(maxDiff(logitsOfRow, batch.last_logits[b])).toBeLessThan(0.1));
    } else {
      expect(correlation(last, expected.last_logits)).toBeGreaterThan(0.95);
    }
    await session.release();
  });

  it('loads offline in @huggingface/transformers with the same tokens, logits and greedy reply', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(c.folder);
    const model = await AutoModelForCausalLM.from_pretrained(c.folder, {
      dtype: c.dtype,
      ...(c.modelFileName ? { model_file_name: c.modelFileName } : {}),
    });
    const inputs = tokenizer(expected.prompt);
    expect(Array.from(inputs.input_ids.data as BigInt64Array, Number)).toEqual(expected.prompt_ids);

    const { session, shape } = await open(c);
    const ids = [expected.prompt_ids];
    const mask = [ids[0].map(() => 1)];
    const ours = await runStandardStep(session, shape, { ids, mask, positions: positionsOf(mask), past: null });
    const theirs = (await model(inputs)) as { logits: unknown };
    const theirLogits = toFloat32(theirs.logits as unknown as Tensor);
    expect(maxDiff(theirLogits, ours.logits)).toBeLessThan(SAME_GRAPH[c.dtype]);

    const generation = readJson<{ eos_token_id: number | number[] }>(c.folder, 'generation_config.json');
    const ends = new Set([generation.eos_token_id].flat());
    const output = (await model.generate({
      ...inputs,
      max_new_tokens: expected.greedy.max_new_tokens,
      do_sample: false,
      repetition_penalty: 1,
    })) as { data: BigInt64Array };
    const generated = Array.from(output.data, Number).slice(expected.prompt_ids.length);
    if (c.dtype === 'fp32') {
      const end = expected.greedy.ids.findIndex((id) => ends.has(id));
      expect(generated).toEqual(end < 0 ? expected.greedy.ids : expected.greedy.ids.slice(0, end + 1));
    } else {
      expect(generated.length).toBeGreaterThan(0);
    }
    await model.dispose();
    await session.release();
  }, 120_000);
});

describe('fixture chat templates in @huggingface/transformers', () => {
  const messages = [{ role: 'user', content: 'Hi' }];
  const render = async (folder: string, chat: { role: string; content: string }[]) => {
    const tokenizer: PreTrainedTokenizer = await AutoTokenizer.from_pretrained(folder);
    return {
      text: tokenizer.apply_chat_template(chat, { add_generation_prompt: true, tokenize: false }) as string,
      ids: (tokenizer.apply_chat_template(chat, { add_generation_prompt: true, return_tensor: false }) as { input_ids: number[] }).input_ids,
      tokenizer,
    };
  };

  it("Llama 3.2's template opens with BOS and the system header", async () => {
    const { text, ids, tokenizer } = await render('tiny-llama', [{ role: 'system', content: 'Be brief.' }, ...messages]);
    expect(text).toMatch(/^<\|begin_of_text\|><\|start_header_id\|>system<\|end_header_id\|>\n\nCutting Knowledge Date: December 2023\nToday Date: .+\n\nBe brief\.<\|eot_id\|><\|start_header_id\|>user<\|end_header_id\|>\n\nHi<\|eot_id\|><\|start_header_id\|>assistant<\|end_header_id\|>\n\n$/);
    // BOS comes from the template; tokenizing the rendered chat adds no second one.
    expect(ids.filter((id) => id === tokenizer.convert_tokens_to_ids('<|begin_of_text|>'))).toHaveLength(1);
  });

  it("Qwen2.5's ChatML adds its default system message", async () => {
    const { text } = await render('tiny-qwen2', messages);
    expect(text).toBe('<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });

  it("Gemma's template refuses a system role", async () => {
    const { text } = await render('tiny-gemma', messages);
    expect(text).toBe('<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n');
    await expect(render('tiny-gemma', [{ role: 'system', content: 'Be brief.' }, ...messages])).rejects.toThrow(/System role not supported/);
  });

  it("Phi-3's chat tokens swallow the newline after them (rstrip)", async () => {
    const { text, ids, tokenizer } = await render('tiny-phi3', messages);
    expect(text).toBe('<|user|>\nHi<|end|>\n<|assistant|>\n');
    const special = (token: string) => tokenizer.convert_tokens_to_ids(token);
    expect(ids[0]).toBe(special('<|user|>'));
    expect(ids.at(-1)).toBe(special('<|assistant|>'));
    // <|user|> Hi <|end|> <|assistant|>: no newline token survives.
    expect(ids).toHaveLength(4);
    expect(tokenizer.decode(ids.slice(1, 2))).toBe('Hi');
  });
});
