/**
 * A minimal ONNX model writer (the protobuf wire format of ModelProto, for the few fields a small
 * operator graph needs), so that the GPU decoder can build its row helpers (Gather, Pad, Concat) for
 * any layer count and cache type at load time, without a protobuf dependency or committed files.
 */

/** ONNX TensorProto.DataType values of the element types the helpers use. */
export const ONNX_TYPE = { float32: 1, int64: 7, float16: 10 } as const;
export type OnnxElementType = keyof typeof ONNX_TYPE;

export interface ValueInfo {
  name: string;
  type: OnnxElementType;
  /** Dimensions: a number, or a name for a symbolic one. */
  dims: (number | string)[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (e.g. Gather's and Concat's `axis`, Cast's `to`). */
  ints?: Record<string, number>;
  /** Integer-list attributes (e.g. a reduction's `axes` before opset 18). */
  intLists?: Record<string, number[]>;
}

export interface GraphSpec {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  /** Default-domain opset (17: Pad takes its pads as an input). */
  opset?: number;
}

/** Bytes of one protobuf message under construction. */
class Message {
  private readonly parts: number[] = [];

  private varint(value: number | bigint): void {
    let rest = BigInt.asUintN(64, BigInt(value));
    do {
      const byte = Number(rest & 0x7fn);
      rest >>= 7n;
      this.parts.push(rest > 0n ? byte | 0x80 : byte);
    } while (rest > 0n);
  }

  int(field: number, value: number): this {
    this.varint((field << 3) | 0);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    for (const byte of value) this.parts.push(byte);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: Message): this {
    return this.bytes(field, value.encode());
  }

  encode(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function valueInfo(info: ValueInfo): Message {
  const shape = new Message();
  for (const dim of info.dims) shape.message(1, typeof dim === 'number' ? new Message().int(1, dim) : new Message().string(2, dim));
  const tensor = new Message().int(1, ONNX_TYPE[info.type]).message(2, shape);
  return new Message().string(1, info.name).message(2, new Message().message(1, tensor));
}

function node(spec: NodeSpec, index: number): Message {
  const message = new Message();
  for (const input of spec.inputs) message.string(1, input);
  for (const output of spec.outputs) message.string(2, output);
  message.string(3, `${spec.op}_${index}`).string(4, spec.op);
  // AttributeProto: name (1), i (3), ints (8), type (20): INT = 2, INTS = 7.
  for (const [name, value] of Object.entries(spec.ints ?? {})) message.message(5, new Message().string(1, name).int(3, value).int(20, 2));
  for (const [name, values] of Object.entries(spec.intLists ?? {})) {
    const attribute = new Message().string(1, name);
    for (const value of values) attribute.int(8, value);
    message.message(5, attribute.int(20, 7));
  }
  return message;
}

/** The serialized ModelProto of `spec` (IR version 8), ready for `InferenceSession.create(bytes)`. */
export function buildModel(spec: GraphSpec): Uint8Array {
  const graph = new Message();
  spec.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, spec.name);
  for (const input of spec.inputs) graph.message(11, valueInfo(input));
  for (const output of spec.outputs) graph.message(12, valueInfo(output));
  return new Message()
    .int(1, 8)
    .string(2, 'banter')
    .message(7, graph)
    .message(8, new Message().string(1, '').int(2, spec.opset ?? 17))
    .encode();
}
