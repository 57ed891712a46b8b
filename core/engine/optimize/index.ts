/**
 * `banter models optimize FOLDER`: writes banter's slot-cache graph (onnx/decoder_slot_cache.onnx,
 * `_fp16` etc. for other dtypes, as transformers.js suffixes them) beside a model folder's standard
 * ONNX export of a Llama-family decoder, then checks it against the standard graph and keeps it
 * only if their logits agree.
 *
 * The new graph holds no copy of the weights: it reads the source's external data file at the same
 * offsets, or, for weights stored inline, the bytes inside the source .onnx file itself (ONNX
 * external data with that file as location). It therefore needs the source file kept beside it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { readDecoderConfig, SUPPORTED_MODEL_TYPES } from './decoder-config.js';
import { findDecoderWeights } from './decoder-weights.js';
import { OptimizeError } from './errors.js';
import { DataType, decodeModel, encodeModel, offsetIn, type TensorProto } from '../onnx-proto.js';
import { buildSlotGraph, type NormKind } from './slot-graph.js';
import { SourceGraph } from './source-graph.js';
import { compareGraphs, type GraphComparison } from './verify.js';

export { OptimizeError } from './errors.js';
export { SUPPORTED_MODEL_TYPES };

/** transformers.js' file suffix per dtype; the converter reads the dtypes whose projections it can copy. */
export const DTYPE_SUFFIXES = { fp32: '', fp16: '_fp16', q4: '_q4', q4f16: '_q4f16' } as const;
export type OptimizeDtype = keyof typeof DTYPE_SUFFIXES;

/**
 * Largest logit difference accepted, against the scale of the logits (the largest |logit| seen):
 * float32: 1e-4 for logits up to 10, 1e-5 of the scale beyond (float32 rounding grows with it; a
 * 30-layer random model with logits up to 112 differs by 1.3e-4); float16: 1e-2 of the scale.
 * A misplaced weight shows as differences of the order of the scale itself.
 */
export function tolerance(floatType: number, maxLogit: number): number {
  return floatType === DataType.FLOAT16 ? 1e-2 * Math.max(1, maxLogit) : 1e-4 * Math.max(1, maxLogit / 10);
}

/** Tensors at least this large are read from the source file, not copied into the new graph. */
const SHARED_TENSOR_BYTES = 1024;

export interface OptimizeOptions {
  /** Which standard export to convert (default fp32: onnx/model.onnx). */
  dtype?: OptimizeDtype;
  onProgress?: (message: string) => void;
  /** RMSNorm as onnxruntime's SimplifiedLayerNormalization (default) or as plain ops. */
  norm?: NormKind;
  /** Overrides the largest logit difference accepted (see `tolerance`). */
  tolerance?: number;
}

export interface OptimizeResult {
  /** Files written (absolute paths). */
  written: string[];
  /** The standard graph it was built from and checked against. */
  source: string;
  dtype: OptimizeDtype;
  modelType: string;
  layers: number;
  maxLogitDiff: number;
  maxLogNormDiff: number;
  /** The difference that would have been refused. */
  tolerance: number;
  /** Positions compared (prefill and cached steps of a left-padded batch). */
  positions: number;
  /** Largest |logit| of the standard graph on those positions: the scale of the differences. */
  maxLogit: number;
  /** The model's attention window, when it has one: the slot graph matches it only on shorter contexts. */
  slidingWindow?: number;
}

function sourcePath(dir: string, dtype: OptimizeDtype): string {
  const suffix = DTYPE_SUFFIXES[dtype];
  for (const name of [`model${suffix}.onnx`, `decoder_model_merged${suffix}.onnx`]) {
    const path = join(dir, 'onnx', name);
    if (existsSync(path)) return path;
  }
  const onnxDir = join(dir, 'onnx');
  const present = existsSync(onnxDir) ? readdirSync(onnxDir).filter((name) => name.endsWith('.onnx')) : [];
  throw new OptimizeError(
    `no ${dtype} decoder in ${onnxDir} (looked for model${suffix}.onnx and decoder_model_merged${suffix}.onnx); ` +
      `the folder has ${present.length ? present.join(', ') : 'no .onnx files'}`,
  );
}

async function readConfig(dir: string): Promise<Record<string, unknown>> {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new OptimizeError(`${dir} has no config.json: not a model folder`);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new OptimizeError(`config.json is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** A source initializer as the new graph holds it: a reference to the same bytes, or a small copy. */
function carryTensor(file: Buffer, fileName: string): (tensor: TensorProto) => TensorProto {
  return (tensor) => {
    if (tensor.data_location === 1) return { ...tensor };
    if (tensor.raw_data && tensor.raw_data.length >= SHARED_TENSOR_BYTES) {
      const { raw_data: raw, ...rest } = tensor;
      return {
        ...rest,
        data_location: 1,
        external_data: [
          { key: 'location', value: fileName },
          { key: 'offset', value: String(offsetIn(file, raw)) },
          { key: 'length', value: String(raw.length) },
        ],
      };
    }
    return { ...tensor };
  };
}

function checkCacheInputs(graph: SourceGraph, layers: number, kvHeads: number, headDim: number): number {
  const first = graph.inputs.get('past_key_values.0.key');
  if (!first) throw new OptimizeError('the graph has no past_key_values.0.key input: it is not a decoder with past (optimum layout)');
  const count = [...graph.inputs.keys()].filter((name) => /^past_key_values\.\d+\.key$/.test(name)).length;
  if (count !== layers) throw new OptimizeError(`the graph has ${count} layers of past_key_values, config.json says ${layers}`);
  const [, heads, , size] = first.dims;
  if (heads !== kvHeads || size !== headDim) {
    throw new OptimizeError(`past_key_values are [batch, ${heads}, past, ${size}], config.json says ${kvHeads} key/value heads of ${headDim}`);
  }
  const type = first.elemType;
  if (type !== DataType.FLOAT && type !== DataType.FLOAT16) throw new OptimizeError(`past_key_values of element type ${type} are not supported (float32 or float16)`);
  for (const name of ['logits', 'present.0.key']) if (!graph.outputs.has(name)) throw new OptimizeError(`the graph has no ${name} output`);
  return type;
}

export async function optimizeModelFolder(dir: string, options: OptimizeOptions = {}): Promise<OptimizeResult> {
  const dtype = options.dtype ?? 'fp32';
  if (!(dtype in DTYPE_SUFFIXES)) throw new OptimizeError(`dtype ${dtype} is not supported (${Object.keys(DTYPE_SUFFIXES).join(', ')})`);
  const progress = options.onProgress ?? (() => {});
  const config = readDecoderConfig(await readConfig(dir));
  const source = sourcePath(dir, dtype);
  progress(`reading ${source}`);
  const file = await readFile(source);
  const graph = new SourceGraph(decodeModel(file));
  const floatType = checkCacheInputs(graph, config.layers, config.kvHeads, config.headDim) as typeof DataType.FLOAT | typeof DataType.FLOAT16;
  const weights = findDecoderWeights(graph, config);
  progress(`found ${config.modelType}: ${config.layers} layers, ${config.heads} heads, ${config.kvHeads} key/value heads of ${config.headDim}`);

  const model = buildSlotGraph({
    config,
    weights,
    source: graph,
    floatType,
    carry: carryTensor(file, basename(source)),
    norm: options.norm,
    metadata: {
      'banter.graph': 'slot-cache',
      'banter.source': basename(source),
      'banter.source_bytes': String(statSync(source).size),
      ...(config.slidingWindow !== undefined ? { 'banter.sliding_window': String(config.slidingWindow) } : {}),
    },
  });
  const target = join(dir, 'onnx', `decoder_slot_cache${DTYPE_SUFFIXES[dtype]}.onnx`);
  // Written beside the target (external data paths are relative to the graph's folder), renamed once checked.
  const pending = `${target}.unverified`;
  await writeFile(pending, encodeModel(model));
  let comparison: GraphComparison;
  progress('checking the slot-cache graph against the standard graph');
  const sessionOptions: InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  let standardSession: InferenceSession | undefined;
  let slotSession: InferenceSession | undefined;
  try {
    standardSession = await InferenceSession.create(source, sessionOptions);
    slotSession = await InferenceSession.create(pending, sessionOptions);
    const embeddingRows = graph.constantDims(weights.embedding)[0];
    comparison = await compareGraphs(standardSession, slotSession, { tokens: embeddingRows });
  } catch (error) {
    await rm(pending, { force: true });
    throw error instanceof OptimizeError ? error : new OptimizeError(`the slot-cache graph could not be run: ${(error as Error).message}`, { cause: error });
  } finally {
    await standardSession?.release();
    await slotSession?.release();
  }
  // float16 weights (also in an export with float32 inputs and outputs) set the precision.
  const lmHead = weights.lmHead.node;
  const weightType = graph.elemType(lmHead.input[lmHead.op_type === 'MatMulNBits' ? 2 : 1]);
  const allowed = options.tolerance ?? tolerance(weightType === DataType.FLOAT16 ? DataType.FLOAT16 : floatType, comparison.maxLogit);
  const worst = Math.max(comparison.maxLogitDiff, comparison.maxLogNormDiff);
  if (!(worst <= allowed)) {
    await rm(pending, { force: true });
    throw new OptimizeError(
      `the slot-cache graph's logits differ from ${basename(source)}'s by ${worst.toExponential(2)} (allowed ${allowed.toExponential(2)}); nothing was written`,
    );
  }
  await rename(pending, target);
  progress(`wrote ${target} (max logit difference ${comparison.maxLogitDiff.toExponential(2)})`);
  return {
    written: [target],
    source,
    dtype,
    modelType: config.modelType,
    layers: config.layers,
    maxLogitDiff: comparison.maxLogitDiff,
    maxLogNormDiff: comparison.maxLogNormDiff,
    tolerance: allowed,
    positions: comparison.positions,
    maxLogit: comparison.maxLogit,
    ...(config.slidingWindow !== undefined ? { slidingWindow: config.slidingWindow } : {}),
  };
}
