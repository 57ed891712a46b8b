/**
 * `banter models check FOLDER`: what a model folder is and whether banter can run it — read the
 * folder, create the session, run one generation step and one scoring pass, and report every
 * problem instead of stopping at the first.
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadEngine, type DtypeChoice, type LoadedDialogueEngine } from '../engine/index.js';
import { readModelFolder } from '../engine/model-folder.js';

export interface ModelReport {
  /** `label: value` lines, in order. */
  facts: [string, string][];
  problems: string[];
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The ONNX file and its external data files, with their total size. */
function fileSize(onnx: string): number {
  let total = statSync(onnx).size;
  for (const suffix of ['_data', '.data', '_data_1', '_data_2', '_data_3']) {
    const data = `${onnx}${suffix}`;
    if (existsSync(data)) total += statSync(data).size;
  }
  return total;
}

export async function checkModelFolder(dir: string, options: { dtype?: DtypeChoice; device?: 'cpu' | 'webgpu' | 'cuda' | 'auto' } = {}): Promise<ModelReport> {
  const facts: [string, string][] = [];
  const problems: string[] = [];
  let folder;
  try {
    folder = await readModelFolder(dir, { dtype: options.dtype ?? 'auto' });
  } catch (error) {
    return { facts: [['folder', dir]], problems: [(error as Error).message] };
  }
  const at = (file: string) => relative(folder.path, file);
  facts.push(['folder', folder.path]);
  facts.push(['model', `${folder.modelType} (${folder.layers} layers, hidden ${folder.hidden}, ${folder.heads} heads / ${folder.kvHeads} key-value heads, head size ${folder.headDim}, vocabulary ${folder.vocabSize}, window ${folder.contextWindow})`]);
  facts.push(['dtype', `${folder.dtype}: ${at(folder.onnxPath)} (${megabytes(fileSize(folder.onnxPath))}); the folder has ${folder.availableDtypes.join(', ')}`]);
  facts.push(['prompt', folder.format ? 'dialogue_format.json' : folder.chatTemplate ? 'chat template' : 'no chat template or dialogue_format.json: DialoGPT format (turns joined by the end token)']);

  let engine: LoadedDialogueEngine | undefined;
  try {
    engine = await loadEngine(folder.path, { device: options.device ?? 'cpu', fallback: 'fail', dtype: folder.dtype, intraOpThreads: 1 });
  } catch (error) {
    problems.push(`the session could not be created: ${(error as Error).message}`);
    return { facts, problems };
  }
  try {
    const names = engine.info.endTokens.map((id) => `${id} ${engine!.tokenizer.decode([id], { keepSpecial: true })}`);
    facts.push(['end tokens', names.join(', ')]);
    facts.push([
      'graph',
      engine.graph === 'slot-cache'
        ? `slot-cache (${at(engine.info.file)}), on ${engine.device}`
        : `standard (${at(engine.info.file)}), on ${engine.device}; \`banter models optimize ${dir}\` writes the faster slot-cache graph for the Llama family`,
    ]);
    const generation = Object.entries(engine.info.generation).map(([key, value]) => `${key} ${value}`).join(', ');
    facts.push(['generation', generation || 'no generation_config.json defaults']);
    const prompt = engine.encodeDialogue({ persona: ['I am a friendly bot.'], knowledge: [], history: [{ role: 'user', text: 'Hello!', at: 0 }] }, 4).tokens;
    facts.push(['rendered', JSON.stringify(engine.tokenizer.decode(prompt, { keepSpecial: true }))]);
    const [candidate] = await engine.generate(prompt, {
      strategy: 'greedy', numCandidates: 1, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0, maxNewTokens: 4, beamWidth: 1, lengthPenalty: 1,
    });
    const [score] = await engine.score([{ context: prompt, continuation: candidate.tokens.length ? candidate.tokens : [engine.info.endTokens[0]] }]);
    if (!Number.isFinite(score)) problems.push(`scoring gave ${score}: the graph's logits are not finite`);
    facts.push(['check', `generated ${JSON.stringify(candidate.text)} greedily (4 tokens at most) and scored it: ${score.toFixed(3)}`]);
  } catch (error) {
    problems.push(`generating or scoring failed: ${(error as Error).message}`);
  } finally {
    await engine.dispose();
  }
  if (!existsSync(join(folder.path, 'tokenizer_config.json'))) problems.push('no tokenizer_config.json: special tokens and the chat template come from there');
  return { facts, problems };
}
