/**
 * An index over a standard decoder graph: who produces and who reads each tensor, which tensors
 * are constant (initializers and what is computed from them alone), and their element types and
 * shapes where the converter needs them. A merged decoder (optimum's decoder_model_merged.onnx)
 * is read through its with-past branch, whose outer names (inputs, initializers) resolve as usual.
 */
import { attribute, DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../onnx-proto.js';
import { OptimizeError } from './errors.js';

export class SourceGraph {
  readonly nodes: NodeProto[];
  readonly initializers = new Map<string, TensorProto>();
  /** Graph output name -> the tensor that holds it (differs inside a merged decoder's branch). */
  readonly outputs = new Map<string, string>();
  readonly inputs: Map<string, { elemType?: number; dims: (number | string | undefined)[] }>;
  private readonly producerIndex = new Map<string, number>();
  private readonly consumerIndex = new Map<string, number[]>();
  private readonly constant = new Map<string, boolean>();
  private readonly valueTypes = new Map<string, number>();

  constructor(readonly model: ModelProto) {
    const main = model.graph;
    for (const tensor of main.initializer) this.initializers.set(tensor.name!, tensor);
    let body: GraphProto = main;
    const merged = main.node.length === 1 && main.node[0].op_type === 'If' ? main.node[0] : undefined;
    if (merged) {
      // optimum: then_branch runs when use_cache_branch is true, i.e. with past.
      const branch = attribute(merged, 'then_branch')?.g;
      if (!branch) throw new OptimizeError('the merged decoder has no then_branch');
      body = branch;
      for (const tensor of branch.initializer ?? []) this.initializers.set(tensor.name!, tensor);
      merged.output.forEach((name, i) => this.outputs.set(name, branch.output[i].name));
    } else {
      for (const output of main.output) this.outputs.set(output.name, output.name);
    }
    this.nodes = body.node;
    this.inputs = new Map(
      main.input.map((input) => [
        input.name,
        {
          elemType: input.type?.tensor_type?.elem_type,
          dims: (input.type?.tensor_type?.shape?.dim ?? []).map((d) => d.dim_value ?? d.dim_param),
        },
      ]),
    );
    for (const info of [...main.input, ...main.output, ...(main.value_info ?? []), ...body.output, ...(body.value_info ?? [])]) {
      const type = info.type?.tensor_type?.elem_type;
      if (type) this.valueTypes.set(info.name, type);
    }
    this.nodes.forEach((node, index) => {
      for (const output of node.output) this.producerIndex.set(output, index);
      for (const input of node.input) {
        if (!input) continue;
        const list = this.consumerIndex.get(input) ?? [];
        list.push(index);
        this.consumerIndex.set(input, list);
      }
    });
  }

  producer(name: string): NodeProto | undefined {
    const index = this.producerIndex.get(name);
    return index === undefined ? undefined : this.nodes[index];
  }

  producerIndexOf(name: string): number | undefined {
    return this.producerIndex.get(name);
  }

  consumers(name: string): NodeProto[] {
    return (this.consumerIndex.get(name) ?? []).map((index) => this.nodes[index]);
  }

  indexOf(node: NodeProto): number {
    return this.producerIndex.get(node.output[0])!;
  }

  /** Computed from initializers and Constant nodes alone. */
  isConstant(name: string): boolean {
    if (!name) return false;
    const known = this.constant.get(name);
    if (known !== undefined) return known;
    let result = false;
    if (this.initializers.has(name)) result = true;
    else {
      const node = this.producer(name);
      // Shape-dependent ops read a runtime shape only when their input is not constant.
      result = node !== undefined && node.input.every((input) => input === '' || this.isConstant(input));
    }
    this.constant.set(name, result);
    return result;
  }

  /** The nodes computing constant `name`, in graph order (empty for an initializer). */
  constantNodes(name: string): NodeProto[] {
    const wanted = new Set<number>();
    const visit = (tensor: string) => {
      if (!tensor || this.initializers.has(tensor)) return;
      const index = this.producerIndex.get(tensor);
      if (index === undefined) throw new OptimizeError(`constant ${tensor} has no producer`);
      if (wanted.has(index)) return;
      wanted.add(index);
      this.nodes[index].input.forEach(visit);
    };
    visit(name);
    return [...wanted].sort((a, b) => a - b).map((index) => this.nodes[index]);
  }

  /** Element type of a tensor, where the file or the producing op tells it. */
  elemType(name: string): number | undefined {
    const declared = this.valueTypes.get(name) ?? this.initializers.get(name)?.data_type ?? this.inputs.get(name)?.elemType;
    if (declared) return declared;
    const node = this.producer(name);
    if (!node) return undefined;
    switch (node.op_type) {
      case 'Constant':
        return attribute(node, 'value')?.t?.data_type;
      case 'Cast':
        return attribute(node, 'to')?.i;
      case 'DequantizeLinear':
        return this.elemType(node.input[1]);
      case 'Shape':
      case 'Size':
        return DataType.INT64;
      default:
        // Elementwise, layout and matrix ops keep their first input's type.
        return this.elemType(node.input[0]);
    }
  }

  /** Shape of a constant tensor (weights: initializers, or simple ops on them). */
  constantDims(name: string): number[] {
    const tensor = this.initializers.get(name);
    if (tensor) return (tensor.dims ?? []).map(Number);
    const node = this.producer(name);
    if (!node) throw new OptimizeError(`no shape for ${name}`);
    switch (node.op_type) {
      case 'Constant': {
        const value = attribute(node, 'value')?.t;
        if (!value) throw new OptimizeError(`Constant ${node.name} holds no tensor value`);
        return (value.dims ?? []).map(Number);
      }
      case 'Transpose': {
        const dims = this.constantDims(node.input[0]);
        const perm = attribute(node, 'perm')?.ints ?? dims.map((_, i) => dims.length - 1 - i);
        return perm.map((axis) => dims[Number(axis)]);
      }
      case 'Cast':
      case 'Identity':
      case 'DequantizeLinear':
      case 'Neg':
      case 'Sqrt':
        return this.constantDims(node.input[0]);
      case 'Add':
      case 'Mul':
      case 'Sub':
      case 'Div': {
        const [a, b] = node.input.map((input) => this.constantDims(input));
        return a.length >= b.length ? a : b;
      }
      default:
        throw new OptimizeError(`cannot tell the shape of weight ${name} (computed by ${node.op_type})`);
    }
  }

  /** Node indices `name` depends on (itself included). */
  ancestors(name: string): Set<number> {
    const seen = new Set<number>();
    const stack = [name];
    while (stack.length > 0) {
      const index = this.producerIndex.get(stack.pop()!);
      if (index === undefined || seen.has(index)) continue;
      seen.add(index);
      for (const input of this.nodes[index].input) if (input) stack.push(input);
    }
    return seen;
  }
}
