/**
 * banter's slot-cache decoder graph for the Llama family, written node by node over the weights of
 * a standard export (the GPT-2 version is tools/gpt2/slot_cache.py; the contract is the same, so the
 * engine's SlotCacheDecoder runs either):
 *   inputs  input_ids, position_ids [batch, seq]; attention_mask [batch, slots + seq] (0 on free slots);
 *           cache.{i}.key|value [batch, kv_heads, slots, head_dim] in the model's float type
 *   outputs logits [batch, seq, vocab] (float32); log_normalizer [batch, seq] (float32: log sum exp
 *           of each position's logits); cache_update.{i}.key|value [batch, kv_heads, seq, head_dim]
 * Attention reads the slots in place: scores against the cache and against the new tokens are
 * computed apart and softmaxed together, so nothing proportional to the cache is copied. Grouped
 * queries are reshaped to [batch, kv_heads, group * seq, head_dim] so that each key/value head is
 * read once, not repeated. Rotary tables are computed from position_ids in float32; in float16
 * graphs the attention softmax runs in float32 too (a fully masked row stays finite).
 */
import type { Activation, DecoderConfig } from './decoder-config.js';
import type { DecoderWeights, Projection } from './decoder-weights.js';
import { floatsToHalves } from '../dtype.js';
import { AttributeType, DataType, type AttributeProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../onnx-proto.js';
import type { SourceGraph } from './source-graph.js';

export const SLOT_GRAPH_OPSET = 17;
/** Masked scores: finite, so that a row with every key masked (a left pad's own query) stays finite. */
const MASKED = -1e9;

export type NormKind = 'fused' | 'plain';

export interface SlotGraphInput {
  config: DecoderConfig;
  weights: DecoderWeights;
  source: SourceGraph;
  /** The float type of the cache and of the computation: the source's past_key_values type. */
  floatType: typeof DataType.FLOAT | typeof DataType.FLOAT16;
  /** How a source initializer is carried over (an external-data reference, or a copy). */
  carry: (tensor: TensorProto) => TensorProto;
  /** RMSNorm as onnxruntime's SimplifiedLayerNormalization, or as plain ops. */
  norm?: NormKind;
  metadata?: Record<string, string>;
}

const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttributeType.INT, i }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttributeType.FLOAT, f }),
  ints: (name: string, ints: number[]): AttributeProto => ({ name, type: AttributeType.INTS, ints }),
  tensor: (name: string, t: TensorProto): AttributeProto => ({ name, type: AttributeType.TENSOR, t }),
};

function tensorOf(name: string, type: number, dims: number[], values: ArrayLike<number>): TensorProto {
  let bytes: Uint8Array;
  if (type === DataType.INT64) bytes = new Uint8Array(BigInt64Array.from(Array.from(values), (v) => BigInt(v)).buffer);
  else if (type === DataType.FLOAT16) bytes = new Uint8Array(floatsToHalves(values).buffer);
  else bytes = new Uint8Array(Float32Array.from(values).buffer);
  return { name, dims, data_type: type, raw_data: bytes };
}

class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly imported = new Map<string, string>();
  private count = 0;

  constructor(
    private readonly source: SourceGraph,
    private readonly carry: (tensor: TensorProto) => TensorProto,
  ) {}

  op(type: string, inputs: string[], attributes: AttributeProto[] = [], outputs?: string[], domain?: string): string[] {
    const names = outputs ?? [`${type.toLowerCase()}_${this.count}`];
    this.nodes.push({ op_type: type, name: `${type}_${this.count++}`, input: inputs, output: names, attribute: attributes, ...(domain ? { domain } : {}) });
    return names;
  }

  /** One-output op. */
  one(type: string, inputs: string[], attributes: AttributeProto[] = [], output?: string, domain?: string): string {
    return this.op(type, inputs, attributes, output ? [output] : undefined, domain)[0];
  }

  /** A named constant, made once however often it is asked for. */
  constant(name: string, type: number, dims: number[], values: ArrayLike<number>): string {
    const full = `banter/${name}`;
    if (!this.initializers.some((tensor) => tensor.name === full)) this.initializers.push(tensorOf(full, type, dims, values));
    return full;
  }

  ints(name: string, values: number[]): string {
    return this.constant(name, DataType.INT64, [values.length], values);
  }

  cast(name: string, from: number | undefined, to: number): string {
    return from === to ? name : this.one('Cast', [name], [attr.int('to', to)]);
  }

  /** A constant of the source (an initializer, or what constant ops compute from initializers). */
  importConstant(name: string): string {
    const known = this.imported.get(name);
    if (known) return known;
    const rename = (tensor: string) => {
      if (!tensor) return tensor;
      if (this.source.initializers.has(tensor)) {
        if (!this.imported.has(tensor)) {
          this.initializers.push({ ...this.carry(this.source.initializers.get(tensor)!), name: tensor });
          this.imported.set(tensor, tensor);
        }
        return tensor;
      }
      return `source/${tensor}`;
    };
    for (const node of this.source.constantNodes(name)) {
      if (this.imported.has(node.output[0])) continue;
      this.nodes.push({ ...node, name: `source/${node.name ?? node.output[0]}`, input: node.input.map(rename), output: node.output.map(rename) });
      for (const output of node.output) this.imported.set(output, rename(output));
    }
    const result = rename(name);
    this.imported.set(name, result);
    return result;
  }

  /** A source constant in the computation's float type. */
  importAs(name: string, type: number): string {
    return this.cast(this.importConstant(name), this.source.elemType(name), type);
  }
}

function valueInfo(name: string, type: number, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: { tensor_type: { elem_type: type, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

export function buildSlotGraph(input: SlotGraphInput): ModelProto {
  const { config, weights, source, floatType: T } = input;
  const { hidden, heads, kvHeads, headDim, layers, eps } = config;
  const group = heads / kvHeads;
  const vocab = weights.lmHead.outFeatures;
  const FLOAT = DataType.FLOAT;
  const g = new GraphBuilder(source, input.carry);
  const norm = input.norm ?? 'fused';

  // Sizes computed once per run.
  const idsShape = g.one('Shape', ['input_ids']);
  const batch = g.one('Slice', [idsShape, g.ints('0', [0]), g.ints('1', [1])]);
  const seq = g.one('Slice', [idsShape, 'banter/1', g.ints('2', [2])]);
  const slots = g.one('Slice', [g.one('Shape', ['cache.0.key']), 'banter/2', g.ints('3', [3])]);
  const scoreSplit = g.one('Concat', [slots, seq], [attr.int('axis', 0)]);
  const logitsShape = g.one('Concat', [idsShape, g.ints('vocab', [vocab])], [attr.int('axis', 0)]);
  const qHeadsShape = g.one('Concat', [batch, g.ints('q_heads', [-1, heads, headDim])], [attr.int('axis', 0)]);
  const kvHeadsShape = g.one('Concat', [batch, g.ints('kv_heads', [-1, kvHeads, headDim])], [attr.int('axis', 0)]);
  const rowsShape = g.ints('rows', [-1, hidden]);
  const attendedRows = g.ints('attended_rows', [-1, heads * headDim]);
  const grouped = g.ints('grouped', [0, kvHeads, -1, headDim]);
  const ungrouped = g.ints('ungrouped', [0, heads, -1, headDim]);
  const perm = attr.ints('perm', [0, 2, 1, 3]);
  const transposeKeys = attr.ints('perm', [0, 1, 3, 2]);
  const lastAxis = g.ints('last_axis', [-1]);

  // Additive mask bias [batch, 1, seq (x group), slots + seq], float32: the attention mask over every
  // key, plus causality among the new tokens (the slots all come before them).
  const one = g.constant('one', FLOAT, [], [1]);
  const masked = g.constant('masked', FLOAT, [], [MASKED]);
  const maskBias = g.one('Unsqueeze', [g.one('Mul', [g.one('Sub', [one, g.cast('attention_mask', DataType.INT64, FLOAT)]), masked]), g.ints('axes_1_2', [1, 2])]);
  const square = g.one('ConstantOfShape', [g.one('Concat', [seq, seq], [attr.int('axis', 0)])], [attr.tensor('value', tensorOf('', FLOAT, [1], [1]))]);
  const future = g.one('Mul', [g.one('Sub', [one, g.one('Trilu', [square], [attr.int('upper', 0)])]), masked]);
  const openSlots = g.one('ConstantOfShape', [g.one('Concat', [seq, slots], [attr.int('axis', 0)])], [attr.tensor('value', tensorOf('', FLOAT, [1], [0]))]);
  let bias = g.one('Add', [maskBias, g.one('Concat', [openSlots, future], [attr.int('axis', 1)])]);
  // Query rows are (group member, token): the bias of token t repeats for every member.
  if (group > 1) bias = g.one('Tile', [bias, g.ints('group_tile', [1, 1, group, 1])]);

  // Rotary tables [batch, 1, seq, head_dim] from position_ids, in float32 as transformers computes them.
  const invFreq = g.constant('inv_freq', FLOAT, [headDim / 2], config.invFreq);
  const freqs = g.one('Mul', [g.one('Unsqueeze', [g.cast('position_ids', DataType.INT64, FLOAT), lastAxis]), invFreq]);
  const angles = g.one('Unsqueeze', [g.one('Concat', [freqs, freqs], [attr.int('axis', -1)]), g.ints('axis_1', [1])]);
  const cos = g.cast(g.one('Cos', [angles]), FLOAT, T);
  const sin = g.cast(g.one('Sin', [angles]), FLOAT, T);
  const halves = g.ints('halves', [headDim / 2, headDim / 2]);
  const rotate = (x: string, output?: string) => {
    const [x1, x2] = g.op('Split', [x, halves], [attr.int('axis', -1)], [`${x}_lo`, `${x}_hi`]);
    const rotated = g.one('Concat', [g.one('Neg', [x2]), x1], [attr.int('axis', -1)]);
    return g.one('Add', [g.one('Mul', [x, cos]), g.one('Mul', [rotated, sin])], [], output);
  };

  const epsilon = norm === 'plain' ? g.constant('epsilon', T, [], [eps]) : '';
  const rmsNorm = (x: string, weight: string) => {
    const scale = g.importAs(weight, T);
    if (norm === 'fused') {
      return g.one('SimplifiedLayerNormalization', [x, scale], [attr.int('axis', -1), attr.float('epsilon', eps), attr.int('stash_type', 1)]);
    }
    const meanSquare = g.one('ReduceMean', [g.one('Mul', [x, x])], [attr.ints('axes', [-1]), attr.int('keepdims', 1)]);
    return g.one('Mul', [g.one('Div', [x, g.one('Sqrt', [g.one('Add', [meanSquare, epsilon])])]), scale]);
  };

  /**
   * The source's projection op on `x` (rows), with its constant inputs carried over, then its bias.
   * It runs in the type of its weights (a float16 export with float32 inputs and outputs computes
   * in float16 inside), between Casts where that is not the graph's float type.
   */
  const project = (projection: Projection, x: string) => {
    const node = projection.node;
    const type = source.elemType(node.input[node.op_type === 'MatMulNBits' ? 2 : 1]) ?? T;
    const inputs = [g.cast(x, T, type), ...node.input.slice(1).map((name) => (name ? g.importConstant(name) : name))];
    let y = g.cast(g.one(node.op_type, inputs, node.attribute ?? [], undefined, node.domain), type, T);
    if (projection.bias) y = g.one('Add', [y, g.importAs(projection.bias, T)]);
    return y;
  };

  const activate = (activation: Activation, x: string) =>
    activation === 'silu' ? g.one('Mul', [x, g.one('Sigmoid', [x])]) : g.one('FastGelu', [x], [], undefined, 'com.microsoft');

  // The residual stream as rows [batch * seq, hidden]: every projection is one 2-D product.
  let x = g.cast(g.one('Reshape', [g.one('Gather', [g.importConstant(weights.embedding), 'input_ids']), rowsShape]), source.elemType(weights.embedding), T);
  if (weights.embeddingScale) x = g.one('Mul', [x, g.importAs(weights.embeddingScale, T)]);
  const queryScale = g.constant('query_scale', T, [], [headDim ** -0.5]);
  // Split sizes of fused projections (Phi-3), made only when a layer needs them: unused constants are dead weight.
  const qkvSplit = () => g.ints('qkv_split', [heads * headDim, kvHeads * headDim, kvHeads * headDim]);
  const gateUpSplit = () => g.ints('gate_up_split', [config.intermediate, config.intermediate]);

  weights.layers.forEach((layer, i) => {
    const normed = rmsNorm(x, layer.inputNorm);
    let query: string, key: string, value: string;
    if ('qkv' in layer.attention) {
      [query, key, value] = g.op('Split', [project(layer.attention.qkv, normed), qkvSplit()], [attr.int('axis', 1)], [`query_${i}`, `key_${i}`, `value_${i}`]);
    } else {
      query = project(layer.attention.q, normed);
      key = project(layer.attention.k, normed);
      value = project(layer.attention.v, normed);
    }
    const q = g.one('Mul', [rotate(g.one('Transpose', [g.one('Reshape', [query, qHeadsShape])], [perm])), queryScale]);
    const k = rotate(g.one('Transpose', [g.one('Reshape', [key, kvHeadsShape])], [perm]), `cache_update.${i}.key`);
    const v = g.one('Transpose', [g.one('Reshape', [value, kvHeadsShape])], [perm], `cache_update.${i}.value`);
    const qGrouped = group > 1 ? g.one('Reshape', [q, grouped]) : q;
    const cached = g.one('MatMul', [qGrouped, g.one('Transpose', [`cache.${i}.key`], [transposeKeys])]);
    const fresh = g.one('MatMul', [qGrouped, g.one('Transpose', [k], [transposeKeys])]);
    const scores = g.cast(g.one('Concat', [cached, fresh], [attr.int('axis', -1)]), T, FLOAT);
    const probabilities = g.cast(g.one('Softmax', [g.one('Add', [scores, bias])], [attr.int('axis', -1)]), FLOAT, T);
    const [onCache, onFresh] = g.op('Split', [probabilities, scoreSplit], [attr.int('axis', -1)], [`on_cache_${i}`, `on_fresh_${i}`]);
    let attended = g.one('Add', [g.one('MatMul', [onCache, `cache.${i}.value`]), g.one('MatMul', [onFresh, v])]);
    if (group > 1) attended = g.one('Reshape', [attended, ungrouped]);
    const merged = g.one('Reshape', [g.one('Transpose', [attended], [perm]), attendedRows]);
    x = g.one('Add', [x, project(layer.o, merged)]);

    const normed2 = rmsNorm(x, layer.postAttentionNorm);
    let gate: string, up: string;
    if ('gateUp' in layer.mlp) {
      [gate, up] = g.op('Split', [project(layer.mlp.gateUp, normed2), gateUpSplit()], [attr.int('axis', 1)], [`gate_${i}`, `up_${i}`]);
    } else {
      gate = project(layer.mlp.gate, normed2);
      up = project(layer.mlp.up, normed2);
    }
    x = g.one('Add', [x, project(layer.down, g.one('Mul', [activate(config.activation, gate), up]))]);
  });

  const logitRows = g.cast(project(weights.lmHead, rmsNorm(x, weights.finalNorm)), T, FLOAT);
  const logits = g.one('Reshape', [logitRows, logitsShape], [], 'logits');
  // Each position's log-normaliser (log sum exp over the vocabulary), one vectorized pass.
  const peak = g.one('ReduceMax', [logits], [attr.ints('axes', [-1]), attr.int('keepdims', 1)]);
  const mass = g.one('ReduceSum', [g.one('Exp', [g.one('Sub', [logits, peak])]), lastAxis], [attr.int('keepdims', 0)]);
  g.one('Add', [g.one('Squeeze', [peak, lastAxis]), g.one('Log', [mass])], [], 'log_normalizer');

  const inputs = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'slots + sequence_length']),
    valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']),
  ];
  const outputs = [
    valueInfo('logits', FLOAT, ['batch_size', 'sequence_length', vocab]),
    valueInfo('log_normalizer', FLOAT, ['batch_size', 'sequence_length']),
  ];
  for (let i = 0; i < layers; i++) {
    for (const kind of ['key', 'value']) {
      inputs.push(valueInfo(`cache.${i}.${kind}`, T, ['batch_size', kvHeads, 'slots', headDim]));
      outputs.push(valueInfo(`cache_update.${i}.${kind}`, T, ['batch_size', kvHeads, 'sequence_length', headDim]));
    }
  }
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: SLOT_GRAPH_OPSET }, { domain: 'com.microsoft', version: 1 }],
    producer_name: 'banter',
    graph: { name: `banter-${config.modelType}-slot-cache`, node: g.nodes, initializer: g.initializers, input: inputs, output: outputs },
    metadata_props: Object.entries(input.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}
