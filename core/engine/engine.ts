/** The DialogueEngine: a model folder, its tokenizer and prompt format, an ONNX session, decoding. */
import type { InferenceSession } from 'onnxruntime-node';
import { BeamJob } from './beam.js';
import { SamplingJob, toGenerated, type DecodeContext, type RawCandidate } from './decode.js';
import { ConcatCacheDecoder, SlotCacheDecoder, type Decoder, type DecoderGraph, type DecoderShape } from './decoder.js';
import { UnsupportedModelError, type EngineDevice } from './errors.js';
import { GpuCacheDecoder } from './gpu-decoder.js';
import { GpuSlotCacheDecoder, slotCacheDeviceOutputs } from './gpu-slot-decoder.js';
import { readModelFolder, type ModelFolder } from './model-folder.js';
import { loadModelText, ModelTextEngine, type ModelText } from './model-text.js';
import { DEFAULT_SCHEDULER, DecodeScheduler } from './scheduler.js';
import { createInferenceSession } from './session.js';
import type {
  DecodeOptions,
  DialogueEngine,
  EngineOptions,
  GeneratedCandidate,
  GenerateControl,
  ModelInfo,
  ScorePair,
  TokenScores,
} from './types.js';
import { engineWorkerAvailable, WorkerDialogueEngine } from './worker/client.js';

/** A loaded engine also tells where its session runs (a GPU may have fallen back to CPU) and which graph it runs. */
export interface LoadedDialogueEngine extends DialogueEngine {
  readonly device: EngineDevice;
  readonly graph: DecoderGraph;
  /** Each continuation token's log-probability and its `top` most likely tokens (what `score` sums). */
  scoreTokens(pairs: ScorePair[], top: number): Promise<TokenScores[]>;
}

/** An engine running in this thread; `generateRaw` gives candidates before their text is decoded (what the engine worker sends). */
export class OnnxDialogueEngine extends ModelTextEngine implements LoadedDialogueEngine {
  private readonly decodeContext: DecodeContext;
  private readonly scheduler: DecodeScheduler;

  constructor(
    readonly info: ModelInfo,
    text: Pick<ModelText, 'tokenizer' | 'prompt' | 'format'>,
    private readonly decoder: Decoder,
    readonly device: EngineDevice,
    batching: { maxBatchRows?: number; prefillChunk?: number },
  ) {
    super(text);
    this.decodeContext = { vocabSize: decoder.shape.vocabSize, endTokens: new Set(info.endTokens), contextWindow: info.contextWindow };
    this.scheduler = new DecodeScheduler(
      decoder,
      { decoder, contextWindow: info.contextWindow, bosToken: info.bosToken },
      { maxRows: batching.maxBatchRows ?? DEFAULT_SCHEDULER.maxRows, prefillChunk: batching.prefillChunk ?? DEFAULT_SCHEDULER.prefillChunk },
    );
  }

  get graph(): DecoderGraph {
    return this.decoder.graph;
  }

  async generate(prompt: number[], options: DecodeOptions, control: GenerateControl = {}): Promise<GeneratedCandidate[]> {
    const raw = await this.generateRaw(prompt, options, control);
    return raw.map((candidate) => toGenerated(candidate, this.tokenizer));
  }

  async generateRaw(prompt: number[], options: DecodeOptions, control: GenerateControl = {}): Promise<RawCandidate[]> {
    const job =
      options.strategy === 'beam' ? new BeamJob(this.decodeContext, prompt, options) : new SamplingJob(this.decodeContext, prompt, options, control.onToken);
    return this.scheduler.run(job, control.signal);
  }

  score(pairs: ScorePair[]): Promise<number[]> {
    return this.scheduler.score(pairs);
  }

  scoreTokens(pairs: ScorePair[], top: number): Promise<TokenScores[]> {
    return this.scheduler.scoreTokens(pairs, top);
  }

  async dispose(): Promise<void> {
    await this.decoder.release();
  }
}

/** The graph's own word on its cache: layers, key/value heads, head size and element type. */
function decoderShape(session: InferenceSession, folder: ModelFolder, graphPath: string): { graph: DecoderGraph; shape: DecoderShape } {
  const inputs = new Map(session.inputMetadata.map((meta) => [meta.name, meta]));
  const graph: DecoderGraph = inputs.has('cache.0.key') ? 'slot-cache' : 'standard';
  const prefix = graph === 'slot-cache' ? 'cache' : 'past_key_values';
  if (!inputs.has('input_ids')) throw new UnsupportedModelError(`the ONNX graph takes no input_ids (inputs: ${[...inputs.keys()].join(', ')})`, graphPath);
  const first = inputs.get(`${prefix}.0.key`);
  if (!first || !first.isTensor) {
    throw new UnsupportedModelError(
      `the ONNX graph has no ${prefix}.0.key input: banter needs a decoder with a key/value cache (optimum's text-generation-with-past export); inputs: ${[...inputs.keys()].slice(0, 8).join(', ')}`,
      graphPath,
    );
  }
  let layers = 0;
  while (inputs.has(`${prefix}.${layers}.key`) && inputs.has(`${prefix}.${layers}.value`)) layers++;
  if (first.type !== 'float32' && first.type !== 'float16') {
    throw new UnsupportedModelError(`the key/value cache is ${first.type}; banter runs float32 and float16 caches`, graphPath);
  }
  const logits = session.outputMetadata.find((meta) => meta.name === 'logits');
  const vocabSize = logits?.isTensor && typeof logits.shape[2] === 'number' ? logits.shape[2] : folder.vocabSize;
  const dimension = (index: number, fallback: number) => (typeof first.shape[index] === 'number' ? (first.shape[index] as number) : fallback);
  return {
    graph,
    shape: { layers, kvHeads: dimension(1, folder.kvHeads), headDim: dimension(3, folder.headDim), vocabSize, cacheType: first.type },
  };
}

/**
 * Loads a Hugging Face-style decoder-only folder (config, tokenizer, prompt format, ONNX decoder),
 * in this thread or (`thread: 'worker'`) in a worker thread of its own. Run from the TypeScript
 * sources (tests) there is no compiled worker script, and the engine runs in this thread.
 */
export function loadEngine(modelDir: string, options: EngineOptions): Promise<LoadedDialogueEngine> {
  if (options.thread !== 'worker') return loadLocalEngine(modelDir, options);
  if (engineWorkerAvailable()) return WorkerDialogueEngine.load(modelDir, options);
  options.onProgress?.('no compiled engine worker beside the sources: the model runs in this thread');
  return loadLocalEngine(modelDir, options);
}

/** The engine in this thread (what the engine worker runs). */
export async function loadLocalEngine(modelDir: string, options: EngineOptions): Promise<OnnxDialogueEngine> {
  const progress = options.onProgress ?? (() => {});
  progress(`reading model folder ${modelDir}`, 0);
  const folder = await readModelFolder(modelDir, { dtype: options.dtype, device: options.device === 'webgpu' || options.device === 'cuda' ? 'gpu' : 'cpu' });
  progress('loading tokenizer', 0.2);
  const text = loadModelText(folder);
  // The slot-cache graph when the folder has one (same weights, fewer ops, no per-step cache copies
  // on the CPU). On a GPU that keeps outputs in device memory (WebGPU) the cache stays there.
  const graphPath = folder.slotCachePath ?? folder.onnxPath;
  progress(`creating ${options.device} session for ${graphPath}`, 0.4);
  const deviceOutputs = folder.slotCachePath ? slotCacheDeviceOutputs(folder.layers) : true;
  const { session, device, deviceOutputs: onDevice } = await createInferenceSession(graphPath, options, { deviceOutputs });
  let decoder: Decoder;
  try {
    const { graph, shape } = decoderShape(session, folder, graphPath);
    if (onDevice) decoder = graph === 'slot-cache' ? new GpuSlotCacheDecoder(session, shape, device) : new GpuCacheDecoder(session, shape, device);
    else decoder = graph === 'slot-cache' ? new SlotCacheDecoder(session, shape) : new ConcatCacheDecoder(session, shape);
  } catch (error) {
    await session.release();
    throw error;
  }
  const info: ModelInfo = {
    ...text.info,
    layers: decoder.shape.layers,
    kvHeads: decoder.shape.kvHeads,
    headDim: decoder.shape.headDim,
    vocabSize: decoder.shape.vocabSize,
    dtype: folder.dtype,
    file: graphPath,
  };
  progress(`model ready on ${device} (${graphPath}${onDevice ? ', key/value cache in GPU memory' : ''})`, 1);
  return new OnnxDialogueEngine(info, text, decoder, device, options);
}
