import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { GREEDY, MODELS_DIR } from './shipped.js';

// Offline: only the local models folder.
env.allowRemoteModels = false;
env.localModelPath = `${MODELS_DIR}/`;

let engine: LoadedDialogueEngine;

beforeAll(async () => {
  engine = await loadEngine(`${MODELS_DIR}/banter-chat`, { device: 'cpu', fallback: 'fail', intraOpThreads: 1 });
});
afterAll(async () => {
  await engine?.dispose();
});

describe('banter-chat in @huggingface/transformers', () => {
  it('loads offline and generates the same greedy reply as banter', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained('banter-chat');
    const model = await AutoModelForCausalLM.from_pretrained('banter-chat', { dtype: 'fp32' });
    const prompt = '<|user|>What kind of music do you like?<|bot|>';
    const inputs = tokenizer(prompt);
    const promptIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    expect(promptIds).toEqual(engine.tokenizer.encodeMarkup(prompt));

    const output = await model.generate({
      ...inputs,
      max_new_tokens: GREEDY.maxNewTokens,
      do_sample: false,
      repetition_penalty: 1,
      no_repeat_ngram_size: 0,
    });
    const generated = Array.from((output as { data: BigInt64Array }).data, Number).slice(promptIds.length);
    const [candidate] = await engine.generate(promptIds, GREEDY);
    const end = engine.tokenizer.tokenId('<|endoftext|>')!;
    expect(generated.filter((id) => id !== end)).toEqual(candidate.tokens);
    expect(tokenizer.decode(generated, { skip_special_tokens: true })).toBe(candidate.text);
    await model.dispose();
  }, 120_000);
});
