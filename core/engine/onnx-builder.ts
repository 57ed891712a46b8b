/**
 * Small operator graphs built at load time (the GPU decoder's row helpers: Gather, Pad, Concat, for
 * any layer count and cache type), written through the same ONNX protobuf code as the converter.
 */
import { AttributeType, encodeModel, type NodeProto, type ValueInfoProto } from './onnx-proto.js';

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

function valueInfo(info: ValueInfo): ValueInfoProto {
  const dim = info.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name: info.name, type: { tensor_type: { elem_type: ONNX_TYPE[info.type], shape: { dim } } } };
}

function node(spec: NodeSpec, index: number): NodeProto {
  const attribute = [
    ...Object.entries(spec.ints ?? {}).map(([name, i]) => ({ name, i, type: AttributeType.INT })),
    ...Object.entries(spec.intLists ?? {}).map(([name, ints]) => ({ name, ints, type: AttributeType.INTS })),
  ];
  return { input: spec.inputs, output: spec.outputs, name: `${spec.op}_${index}`, op_type: spec.op, attribute };
}

/** The serialized ModelProto of `spec` (IR version 8), ready for `InferenceSession.create(bytes)`. */
export function buildModel(spec: GraphSpec): Uint8Array {
  return encodeModel({
    ir_version: 8,
    producer_name: 'banter',
    opset_import: [{ domain: '', version: spec.opset ?? 17 }],
    graph: { name: spec.name, node: spec.nodes.map(node), initializer: [], input: spec.inputs.map(valueInfo), output: spec.outputs.map(valueInfo) },
  });
}
