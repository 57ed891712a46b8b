/**
 * Finds a Llama-family decoder's weights in a standard ONNX export by the graph's structure, not by
 * tensor names (exporters name transposed weights onnx::MatMul_123, merge equal tensors, fold
 * constants or not):
 * - a projection is a MatMul / Gemm / MatMulNBits whose weight is constant; projections reading the
 *   same tensor form a group, and a layer is four groups in graph order: attention input (q, k, v
 *   or a fused qkv), output (o), MLP input (gate, up or a fused gate_up), down; the last group is the
 *   lm_head;
 * - k and v are told apart by which present output they feed, gate and up by which one goes
 *   through the activation, q by its width;
 * - an RMSNorm's weight is the constant factor of the Mul (or the scale of the
 *   SimplifiedLayerNormalization) that produces a group's input;
 * - the embedding is the Gather of a constant table by input_ids; Gemma's scale the constant
 *   scalar that multiplies it.
 * Weights are referred to by source tensor name; the slot graph copies whatever constant ops
 * compute them (a Transpose, a Cast, Gemma's 1 + w), so no weight is read or rewritten here.
 */
import { attribute, type NodeProto } from '../onnx-proto.js';
import type { DecoderConfig } from './decoder-config.js';
import { OptimizeError } from './errors.js';
import type { SourceGraph } from './source-graph.js';

export interface Projection {
  /** The source node: MatMul, Gemm, MatMulNBits (or FusedMatMul); its inputs past the first are constants. */
  node: NodeProto;
  /** The activation it reads. */
  input: string;
  /** A separate bias Add's constant operand. */
  bias?: string;
  inFeatures: number;
  outFeatures: number;
}

export type Attention = { q: Projection; k: Projection; v: Projection } | { qkv: Projection };
export type Mlp = { gate: Projection; up: Projection } | { gateUp: Projection };

export interface LayerWeights {
  inputNorm: string;
  attention: Attention;
  o: Projection;
  postAttentionNorm: string;
  mlp: Mlp;
  down: Projection;
}

export interface DecoderWeights {
  embedding: string;
  /** A scalar multiplying the embeddings (Gemma's sqrt(hidden)). */
  embeddingScale?: string;
  layers: LayerWeights[];
  finalNorm: string;
  lmHead: Projection;
}

const LINEAR_OPS = new Set(['MatMul', 'Gemm', 'MatMulNBits', 'FusedMatMul']);

function features(graph: SourceGraph, node: NodeProto): [number, number] {
  if (node.op_type === 'MatMulNBits') return [Number(attribute(node, 'K')?.i), Number(attribute(node, 'N')?.i)];
  const dims = graph.constantDims(node.input[1]);
  if (dims.length !== 2) throw new OptimizeError(`projection ${node.name} has a weight of rank ${dims.length}`);
  const transposed = (node.op_type === 'Gemm' || node.op_type === 'FusedMatMul') && Number(attribute(node, 'transB')?.i ?? 0) === 1;
  return transposed ? [dims[1], dims[0]] : [dims[0], dims[1]];
}

/** Looks through Casts (float16 exports cast around ops) to the tensor that is really meant. */
function throughCasts(graph: SourceGraph, name: string): string {
  let current = name;
  for (let node = graph.producer(current); node?.op_type === 'Cast'; node = graph.producer(current)) current = node.input[0];
  return current;
}

function projections(graph: SourceGraph): Projection[] {
  const found: Projection[] = [];
  for (const node of graph.nodes) {
    if (!LINEAR_OPS.has(node.op_type) || graph.isConstant(node.input[0]) || !graph.isConstant(node.input[1])) continue;
    const [inFeatures, outFeatures] = features(graph, node);
    const projection: Projection = { node, input: throughCasts(graph, node.input[0]), inFeatures, outFeatures };
    const readers = graph.consumers(node.output[0]);
    if (readers.length === 1 && readers[0].op_type === 'Add') {
      const other = readers[0].input.find((input) => input !== node.output[0]);
      if (other && graph.isConstant(other) && graph.constantDims(other).reduce((a, b) => a * b, 1) === outFeatures) {
        projection.bias = other;
      }
    }
    found.push(projection);
  }
  return found;
}

/** Where a projection's result (after its bias) goes on. */
export function projectionOutput(graph: SourceGraph, projection: Projection): string {
  const out = projection.node.output[0];
  return projection.bias ? graph.consumers(out)[0].output[0] : out;
}

/** Ops that only move or select values: an RMSNorm's result may pass them before a projection. */
const LAYOUT_OPS = new Set(['Cast', 'Identity', 'Reshape', 'Squeeze', 'Unsqueeze', 'Slice', 'Gather']);

/** The RMSNorm weight applied to produce `normed` (seen through layout ops: num_logits_to_keep slices the last norm's rows). */
function normWeight(graph: SourceGraph, normed: string, hidden: number, what: string): string {
  let node = graph.producer(normed);
  while (node && LAYOUT_OPS.has(node.op_type) && !graph.isConstant(node.input[0])) node = graph.producer(node.input[0]);
  if (node?.op_type === 'SimplifiedLayerNormalization') return node.input[1];
  if (node?.op_type === 'SkipSimplifiedLayerNormalization') return node.input[2];
  if (node?.op_type === 'Mul') {
    const weight = node.input.find((input) => graph.isConstant(input));
    if (weight && graph.constantDims(weight).reduce((a, b) => a * b, 1) === hidden) return weight;
  }
  throw new OptimizeError(`cannot find the RMSNorm weight of ${what} (its input comes from ${node?.op_type ?? 'a graph input'})`);
}

function embeddingOf(graph: SourceGraph, hidden: number): { embedding: string; embeddingScale?: string } {
  const gather = graph.nodes.find(
    (node) => node.op_type === 'Gather' && graph.isConstant(node.input[0]) && throughCasts(graph, node.input[1]) === 'input_ids',
  );
  if (!gather) throw new OptimizeError('cannot find the token embedding (a Gather of a constant table by input_ids)');
  const dims = graph.constantDims(gather.input[0]);
  if (dims.length !== 2 || dims[1] !== hidden) throw new OptimizeError(`the embedding table is ${JSON.stringify(dims)}, not [vocab, ${hidden}]`);
  let embedded = gather.output[0];
  for (let readers = graph.consumers(embedded); readers.length === 1 && readers[0].op_type === 'Cast'; readers = graph.consumers(embedded)) {
    embedded = readers[0].output[0];
  }
  const scale = graph.consumers(embedded).find(
    (node) =>
      node.op_type === 'Mul' &&
      node.input.some((input) => input !== embedded && graph.isConstant(input) && graph.constantDims(input).reduce((a, b) => a * b, 1) === 1),
  );
  const embeddingScale = scale?.input.find((input) => input !== embedded);
  return { embedding: gather.input[0], ...(embeddingScale ? { embeddingScale } : {}) };
}

function describe(group: Projection[]): string {
  return group.map((p) => `${p.node.op_type} ${p.inFeatures}x${p.outFeatures}`).join(', ');
}

export function findDecoderWeights(graph: SourceGraph, config: DecoderConfig): DecoderWeights {
  const { hidden, heads, kvHeads, headDim, intermediate, layers } = config;
  const qSize = heads * headDim;
  const kvSize = kvHeads * headDim;
  const all = projections(graph);
  const groups = new Map<string, Projection[]>();
  for (const projection of all) {
    const list = groups.get(projection.input) ?? [];
    list.push(projection);
    groups.set(projection.input, list);
  }
  const ordered = [...groups.values()];
  if (ordered.length !== 4 * layers + 1) {
    throw new OptimizeError(
      `expected ${4 * layers + 1} groups of projections for ${layers} layers (attention in, out, MLP in, down per layer, then lm_head), found ${ordered.length}: ` +
        'the graph is not a Llama-family decoder the converter knows',
    );
  }
  const result: LayerWeights[] = [];
  for (let layer = 0; layer < layers; layer++) {
    const [attentionIn, [o], mlpIn, [down]] = ordered.slice(4 * layer, 4 * layer + 4);
    const where = `layer ${layer}`;
    let attention: Attention;
    if (attentionIn.length === 1 && attentionIn[0].outFeatures === qSize + 2 * kvSize) {
      attention = { qkv: attentionIn[0] };
    } else if (attentionIn.length === 3) {
      const keyAncestors = graph.ancestors(graph.outputs.get(`present.${layer}.key`) ?? '');
      const valueAncestors = graph.ancestors(graph.outputs.get(`present.${layer}.value`) ?? '');
      const k = attentionIn.find((p) => keyAncestors.has(graph.indexOf(p.node)));
      const v = attentionIn.find((p) => valueAncestors.has(graph.indexOf(p.node)) && !keyAncestors.has(graph.indexOf(p.node)));
      const q = attentionIn.find((p) => p !== k && p !== v);
      if (!k || !v || !q || q.outFeatures !== qSize || k.outFeatures !== kvSize || v.outFeatures !== kvSize) {
        throw new OptimizeError(`${where}: cannot tell the q, k and v projections apart (${describe(attentionIn)})`);
      }
      attention = { q, k, v };
    } else {
      throw new OptimizeError(`${where}: the attention input projections are ${describe(attentionIn)}, expected q ${qSize}, k and v ${kvSize} (or fused)`);
    }
    if (!o || o.inFeatures !== qSize || o.outFeatures !== hidden) throw new OptimizeError(`${where}: the attention output projection is not ${qSize}x${hidden}`);
    let mlp: Mlp;
    if (mlpIn.length === 1 && mlpIn[0].outFeatures === 2 * intermediate) {
      mlp = { gateUp: mlpIn[0] };
    } else if (mlpIn.length === 2 && mlpIn.every((p) => p.outFeatures === intermediate)) {
      // up's result goes straight into the product with the activation; gate's through the activation.
      const straight = (p: Projection) => {
        const readers = graph.consumers(projectionOutput(graph, p));
        return readers.length === 1 && readers[0].op_type === 'Mul';
      };
      const [first, second] = mlpIn;
      if (straight(first) === straight(second)) throw new OptimizeError(`${where}: cannot tell the MLP's gate and up projections apart`);
      mlp = straight(first) ? { gate: second, up: first } : { gate: first, up: second };
    } else {
      throw new OptimizeError(`${where}: the MLP input projections are ${describe(mlpIn)}, expected gate and up ${intermediate} (or fused)`);
    }
    if (!down || down.inFeatures !== intermediate || down.outFeatures !== hidden) throw new OptimizeError(`${where}: the MLP down projection is not ${intermediate}x${hidden}`);
    result.push({
      inputNorm: normWeight(graph, attentionIn[0].input, hidden, `${where} (input_layernorm)`),
      attention,
      o,
      postAttentionNorm: normWeight(graph, mlpIn[0].input, hidden, `${where} (post_attention_layernorm)`),
      mlp,
      down,
    });
  }
  const [lmHead] = ordered[4 * layers];
  if (ordered[4 * layers].length !== 1 || lmHead.inFeatures !== hidden) throw new OptimizeError(`the last projection group is not the lm_head (${describe(ordered[4 * layers])})`);
  return {
    ...embeddingOf(graph, hidden),
    layers: result,
    finalNorm: normWeight(graph, lmHead.input, hidden, 'the final norm'),
    lmHead,
  };
}
