/** The DialogueEngine: a model folder, its tokenizer and dialogue format, an ONNX session, decoding. */
import { beamSearch } from './beam.js';
import { sampleOrGreedy, toGenerated, type DecodeContext } from './decode.js';
import { ModelFolderError } from './errors.js';
import { DialogueEncoder, dialoGptFormat } from './format.js';
import { readModelFolder } from './model-folder.js';
import { scorePairs } from './score.js';
import { ConcatCacheDecoder, SlotCacheDecoder, type Decoder, type DecoderGraph } from './decoder.js';
import { createInferenceSession } from './session.js';
import { HfTextTokenizer } from './tokenizer.js';
import type { PromptParts } from '../types.js';
import type {
  DecodeOptions,
  DialogueEngine,
  DialogueFormat,
  EngineOptions,
  GeneratedCandidate,
  ModelInfo,
  ScorePair,
  TextTokenizer,
} from './types.js';

/** A loaded engine also tells where its session runs (CUDA may have fallen back to CPU) and which graph it runs. */
export interface LoadedDialogueEngine extends DialogueEngine {
  readonly device: 'cpu' | 'cuda';
  readonly graph: DecoderGraph;
}

class OnnxDialogueEngine implements LoadedDialogueEngine {
  private readonly encoder: DialogueEncoder;
  private readonly decodeContext: DecodeContext;

  constructor(
    readonly info: ModelInfo,
    readonly tokenizer: TextTokenizer,
    readonly format: DialogueFormat,
    private readonly decoder: Decoder,
    private readonly endToken: number,
    readonly device: 'cpu' | 'cuda',
  ) {
    this.encoder = new DialogueEncoder(format, tokenizer, info.contextWindow);
    this.decodeContext = { decoder, tokenizer, endToken, contextWindow: info.contextWindow };
  }

  get graph(): DecoderGraph {
    return this.decoder.graph;
  }

  encodeDialogue(parts: PromptParts, reserve: number): { tokens: number[]; kept: PromptParts } {
    return this.encoder.encodeDialogue(parts, reserve);
  }

  encodeTurns(turns: Parameters<DialogueEngine['encodeTurns']>[0]): number[] {
    return this.encoder.encodeTurns(turns);
  }

  async generate(prompt: number[], options: DecodeOptions): Promise<GeneratedCandidate[]> {
    const raw = options.strategy === 'beam' ? await beamSearch(this.decodeContext, prompt, options) : await sampleOrGreedy(this.decodeContext, prompt, options);
    return raw.map((candidate) => toGenerated(candidate, this.tokenizer));
  }

  score(pairs: ScorePair[]): Promise<number[]> {
    return scorePairs({ decoder: this.decoder, contextWindow: this.info.contextWindow, bosToken: this.endToken }, pairs);
  }

  async dispose(): Promise<void> {
    await this.decoder.release();
  }
}

/** Loads a Hugging Face-style GPT-2 folder (config, tokenizer, dialogue format, ONNX decoder). */
export async function loadEngine(modelDir: string, options: EngineOptions): Promise<LoadedDialogueEngine> {
  const progress = options.onProgress ?? (() => {});
  progress(`reading model folder ${modelDir}`, 0);
  const folder = await readModelFolder(modelDir);
  progress('loading tokenizer', 0.2);
  const tokenizer = new HfTextTokenizer(folder.tokenizerJson, folder.tokenizerConfig);
  const eosText = folder.eosTokenId !== undefined ? tokenizer.tokenText(folder.eosTokenId) : undefined;
  const format = folder.format ?? dialoGptFormat(eosText ?? '<|endoftext|>');
  const endToken = tokenizer.tokenId(format.end);
  if (endToken === undefined) {
    throw new ModelFolderError(`the end token "${format.end}" of the dialogue format is not in tokenizer.json`, folder.path);
  }
  // The slot-cache graph when the folder has one (same weights, no per-step cache copies).
  const graphPath = folder.slotCachePath ?? folder.onnxPath;
  progress(`creating ${options.device} session for ${graphPath}`, 0.4);
  const { session, device } = await createInferenceSession(graphPath, options);
  const shape = { layers: folder.layers, heads: folder.heads, headDim: folder.hidden / folder.heads, vocabSize: folder.vocabSize };
  const decoder = folder.slotCachePath ? new SlotCacheDecoder(session, shape) : new ConcatCacheDecoder(session, shape);
  const info: ModelInfo = {
    name: folder.name,
    path: folder.path,
    modelType: folder.modelType,
    layers: folder.layers,
    heads: folder.heads,
    hidden: folder.hidden,
    vocabSize: folder.vocabSize,
    contextWindow: folder.contextWindow,
    generation: folder.generation,
  };
  progress(`model ready on ${device}`, 1);
  return new OnnxDialogueEngine(info, tokenizer, format, decoder, endToken, device);
}
