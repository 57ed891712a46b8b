/**
 * Small helper sessions on the GPU decoders' execution provider, so that the key/value cache never
 * leaves device memory: one joins row selections of several caches (Gather, Pad, Concat: expanding a
 * prompt's row to N candidates, reordering beams, dropping finished rows, a turn joining the batch,
 * a slot cache growing), one writes a slot-cache pass's new entries at each row's next free slots
 * (ScatterND), one turns a step's logits into what sampling reads (float32 logits and each position's
 * log-normaliser). The graphs are built here for the model's layer count and cache type (onnx-builder.ts).
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { DecoderShape, Scores } from './decoder.js';
import type { FloatType } from './dtype.js';
import type { EngineDevice } from './errors.js';
import { buildModel, type NodeSpec, type ValueInfo } from './onnx-builder.js';
import { sessionOptions } from './session.js';

/**
 * Where a row's positions sit in its cache's capacity: `end` (right-aligned, as the standard graph
 * keeps them: padding goes before) or `start` (slot cache: free slots after).
 */
export type Alignment = 'start' | 'end';

/** Rows `rows` of a cache's tensors, `capacity` positions each. */
export interface RowPart {
  tensors: Tensor[];
  /** Rows the tensors hold. */
  batch: number;
  capacity: number;
  rows: number[];
}

/**
 * Parts one join session takes; more are joined four at a time. With each part either passed as it
 * is or gathered and padded, at most 30 join sessions exist (none is released before the decoder:
 * see DeviceTensors).
 */
const MAX_JOIN_PARTS = 4;

function isIdentity(part: RowPart): boolean {
  return part.rows.length === part.batch && part.rows.every((row, i) => row === i);
}

/**
 * Every device tensor the GPU decoders hold. A device tensor must be freed while the session that
 * made it still exists: freeing one after its session was released crashed the process (SIGSEGV
 * with onnxruntime-node 1.30's WebGPU provider). So no helper session is released before the
 * decoder, and the decoder frees whatever is still held (a cache lost with a failed pass, say)
 * before it releases the sessions. Freeing twice is harmless.
 */
export class DeviceTensors {
  private readonly live = new Set<Tensor>();

  keep(tensors: Tensor[]): Tensor[] {
    for (const tensor of tensors) this.live.add(tensor);
    return tensors;
  }

  free(tensor: Tensor): void {
    tensor.dispose();
    this.live.delete(tensor);
  }

  freeAll(): void {
    for (const tensor of this.live) tensor.dispose();
    this.live.clear();
  }
}

export class GpuCacheHelpers {
  readonly tensors = new DeviceTensors();
  private readonly joins = new Map<string, Promise<InferenceSession>>();
  private scoresSession: Promise<InferenceSession> | undefined;
  private writeSession: Promise<InferenceSession> | undefined;

  constructor(
    private readonly device: EngineDevice,
    private readonly shape: DecoderShape,
    /** Element type of the decoder's logits output. */
    private readonly logitsType: FloatType,
  ) {}

  private create(model: Uint8Array, deviceOutputs: boolean): Promise<InferenceSession> {
    return InferenceSession.create(model, sessionOptions({}, this.device, deviceOutputs));
  }

  /**
   * One cache of `capacity` positions per row holding the parts' rows in order, each part padded to
   * `capacity` (before its positions or after them). CONSUMES the parts' tensors (a single part that
   * needs no change is handed back as it is).
   */
  async join(parts: RowPart[], capacity: number, alignment: Alignment): Promise<Tensor[]> {
    if (parts.length > MAX_JOIN_PARTS) {
      const first = parts.slice(0, MAX_JOIN_PARTS);
      const rows = first.reduce((sum, part) => sum + part.rows.length, 0);
      const joined = await this.join(first, capacity, alignment);
      return this.join([{ tensors: joined, batch: rows, capacity, rows: [...Array(rows).keys()] }, ...parts.slice(MAX_JOIN_PARTS)], capacity, alignment);
    }
    // A lone part may only gather (the hot path: beams reordered, rows expanded or dropped); among
    // several, a part that changes is gathered and padded (with identity rows or no padding if so).
    const moves = parts.map((part) => !isIdentity(part) || part.capacity < capacity);
    const plan = parts.map((part, k) => ({ gather: moves[k], pad: moves[k] && (parts.length > 1 || part.capacity < capacity) }));
    if (parts.length === 1 && !moves[0]) return parts[0].tensors;
    const key = plan.map((step) => `${step.gather ? 'g' : ''}${step.pad ? 'p' : ''}-`).join('');
    let session = this.joins.get(key);
    if (!session) this.joins.set(key, (session = this.create(this.joinModel(plan), true)));
    const feeds: Record<string, Tensor> = {};
    parts.forEach((part, k) => {
      part.tensors.forEach((tensor, t) => (feeds[`part${k}.${t}`] = tensor));
      if (plan[k].gather) feeds[`rows${k}`] = new Tensor('int64', BigInt64Array.from(part.rows, BigInt), [part.rows.length]);
      // Pads of [batch, heads, positions, headDim]: all begins, then all ends; only positions are padded.
      const pad = BigInt(capacity - part.capacity);
      if (plan[k].pad) feeds[`pads${k}`] = new Tensor('int64', alignment === 'end' ? [0n, 0n, pad, 0n, 0n, 0n, 0n, 0n] : [0n, 0n, 0n, 0n, 0n, 0n, pad, 0n], [8]);
    });
    const results = await (await session).run(feeds);
    for (const tensor of new Set(Object.values(feeds))) this.tensors.free(tensor);
    return this.tensors.keep(Array.from({ length: 2 * this.shape.layers }, (_, t) => results[`out.${t}`]));
  }

  private joinModel(plan: { gather: boolean; pad: boolean }[]): Uint8Array {
    const { layers, kvHeads, headDim, cacheType } = this.shape;
    const inputs: ValueInfo[] = [];
    const nodes: NodeSpec[] = [];
    const outputs: ValueInfo[] = [];
    plan.forEach((step, k) => {
      for (let t = 0; t < 2 * layers; t++) inputs.push({ name: `part${k}.${t}`, type: cacheType, dims: [`batch${k}`, kvHeads, `positions${k}`, headDim] });
      if (step.gather) inputs.push({ name: `rows${k}`, type: 'int64', dims: [`rows${k}`] });
      if (step.pad) inputs.push({ name: `pads${k}`, type: 'int64', dims: [8] });
    });
    for (let t = 0; t < 2 * layers; t++) {
      const out = `out.${t}`;
      const ends = plan.map((step, k) => {
        let value = `part${k}.${t}`;
        const last = plan.length === 1;
        if (step.gather) {
          const name = last && !step.pad ? out : `gathered${k}.${t}`;
          nodes.push({ op: 'Gather', inputs: [value, `rows${k}`], outputs: [name], ints: { axis: 0 } });
          value = name;
        }
        if (step.pad) {
          const name = last ? out : `padded${k}.${t}`;
          nodes.push({ op: 'Pad', inputs: [value, `pads${k}`], outputs: [name] });
          value = name;
        }
        return value;
      });
      if (plan.length > 1) nodes.push({ op: 'Concat', inputs: ends, outputs: [out], ints: { axis: 0 } });
      outputs.push({ name: out, type: cacheType, dims: ['rows', kvHeads, 'positions', headDim] });
    }
    return buildModel({ name: 'banter_join_rows', inputs, outputs, nodes });
  }

  /**
   * The slot cache `cache` with `updates` ([batch, kvHeads, seq, headDim] per tensor, a slot-cache
   * pass's new entries) written at each row's slots [lengths[r], lengths[r] + seq). A new buffer:
   * onnxruntime-node cannot bind an output onto an input. CONSUMES `cache` and `updates`.
   */
  async write(cache: Tensor[], updates: Tensor[], lengths: readonly number[]): Promise<Tensor[]> {
    this.writeSession ??= this.create(this.writeModel(), true);
    const [batch, heads, seq] = updates[0].dims;
    // ScatterND indices [batch, heads, seq, 3]: (row, head, slot) of each updated headDim vector.
    const indices = new BigInt64Array(batch * heads * seq * 3);
    let i = 0;
    for (let row = 0; row < batch; row++) {
      for (let head = 0; head < heads; head++) {
        for (let s = 0; s < seq; s++, i += 3) indices.set([BigInt(row), BigInt(head), BigInt(lengths[row] + s)], i);
      }
    }
    const feeds: Record<string, Tensor> = { indices: new Tensor('int64', indices, [batch, heads, seq, 3]) };
    cache.forEach((tensor, t) => (feeds[`cache.${t}`] = tensor));
    updates.forEach((tensor, t) => (feeds[`update.${t}`] = tensor));
    const results = await (await this.writeSession).run(feeds);
    for (const tensor of Object.values(feeds)) this.tensors.free(tensor);
    return this.tensors.keep(cache.map((_, t) => results[`out.${t}`]));
  }

  private writeModel(): Uint8Array {
    const { layers, kvHeads, headDim, cacheType } = this.shape;
    const tensors = [...Array(2 * layers).keys()];
    const dims = (positions: string) => ['rows', kvHeads, positions, headDim];
    return buildModel({
      name: 'banter_write_slots',
      inputs: [
        ...tensors.map((t) => ({ name: `cache.${t}`, type: cacheType, dims: dims('slots') })),
        ...tensors.map((t) => ({ name: `update.${t}`, type: cacheType, dims: dims('new') })),
        { name: 'indices', type: 'int64' as const, dims: ['rows', kvHeads, 'new', 3] },
      ],
      outputs: tensors.map((t) => ({ name: `out.${t}`, type: cacheType, dims: dims('slots') })),
      nodes: tensors.map((t) => ({ op: 'ScatterND', inputs: [`cache.${t}`, 'indices', `update.${t}`], outputs: [`out.${t}`] })),
    });
  }

  /**
   * The float32 logits and each position's log sum exp of a step's `logits` (left on the device by
   * the decoder), computed there; only these come back to host memory. CONSUMES `logits`.
   */
  async scores(logits: Tensor): Promise<Scores> {
    this.scoresSession ??= this.create(this.scoresModel(), false);
    const results = await (await this.scoresSession).run({ logits });
    logits.dispose();
    return { logits: results.scores.data as Float32Array, logNorms: results.log_normalizer.data as Float32Array };
  }

  private scoresModel(): Uint8Array {
    const vocab = this.shape.vocabSize;
    const lastAxis = { axes: [-1] };
    return buildModel({
      name: 'banter_scores',
      inputs: [{ name: 'logits', type: this.logitsType, dims: ['batch', 'positions', vocab] }],
      outputs: [
        { name: 'scores', type: 'float32', dims: ['batch', 'positions', vocab] },
        { name: 'log_normalizer', type: 'float32', dims: ['batch', 'positions', 1] },
      ],
      nodes: [
        { op: 'Cast', inputs: ['logits'], outputs: ['scores'], ints: { to: 1 } },
        // log sum exp = max + log sum exp(x - max): finite for any finite logits.
        { op: 'ReduceMax', inputs: ['scores'], outputs: ['max'], intLists: lastAxis, ints: { keepdims: 1 } },
        { op: 'Sub', inputs: ['scores', 'max'], outputs: ['shifted'] },
        { op: 'ReduceLogSumExp', inputs: ['shifted'], outputs: ['shifted_norm'], intLists: lastAxis, ints: { keepdims: 1 } },
        { op: 'Add', inputs: ['shifted_norm', 'max'], outputs: ['log_normalizer'] },
      ],
    });
  }

  /** Frees every device tensor still held, then the helper sessions. */
  async release(): Promise<void> {
    this.tensors.freeAll();
    const sessions = [...this.joins.values(), ...[this.scoresSession, this.writeSession].filter((s) => s !== undefined)];
    this.joins.clear();
    this.scoresSession = undefined;
    this.writeSession = undefined;
    for (const session of sessions) await (await session).release();
  }
}
