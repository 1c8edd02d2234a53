/**
 * The ONNX graph of a training step while it is being written: nodes, constant initializers, graph
 * inputs and outputs, every value with its static shape. Training graphs are built for one batch
 * shape, so every shape is known here, and rules can size pads, crops and reductions from them.
 */
import { onnx } from 'onnx-proto';
import { float, int, ints, text } from '../../../runtime/onnx/attributes';

/** Opset 17: ReduceSum takes its axes as an input, ReduceMean still as an attribute. */
export const TRAINING_OPSET = 17;
export const TRAINING_IR_VERSION = 8;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** A value of the graph: its name and static shape (NCHW for images). */
export interface Value {
  name: string;
  shape: number[];
}

export const attr = { float, int, ints, text };

/** Little-endian float32 bytes, as TensorProto.raw_data requires whatever the host's byte order. */
function floatBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

function int64Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return out;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./-]/g, '_');
    let name = clean;
    for (let i = 1; this.names.has(name); i++) name = `${clean}_${i}`;
    this.names.add(name);
    return name;
  }

  private static info(name: string, shape: readonly number[], elemType = FLOAT): onnx.IValueInfoProto {
    return { name, type: { tensorType: { elemType, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } };
  }

  input(name: string, shape: number[]): Value {
    this.names.add(name);
    this.inputs.push(GraphBuilder.info(name, shape));
    return { name, shape };
  }

  /** An int64 graph input (indices fed each step). */
  int64Input(name: string, shape: number[]): string {
    this.names.add(name);
    this.inputs.push(GraphBuilder.info(name, shape, INT64));
    return name;
  }

  /** The graph input `name`, declared on first use (an input several parts of the graph share). */
  inputOnce(name: string, shape: number[]): Value {
    if (!this.inputs.some((i) => i.name === name)) return this.input(name, shape);
    return { name, shape };
  }

  /** Declares `value` as the graph output `name` (through an Identity when the names differ). */
  output(name: string, value: Value): void {
    if (value.name !== name) {
      this.names.add(name);
      this.nodes.push({ opType: 'Identity', input: [value.name], output: [name], name });
    }
    this.outputs.push(GraphBuilder.info(name, value.shape));
  }

  /** A float32 initializer; identical small constants (scalars, vectors of one value) are shared. */
  constant(base: string, values: ArrayLike<number>, shape: number[]): Value {
    const shareable = values.length <= 4;
    const key = shareable ? `f${shape.join('x')}:${Array.from(values).join(',')}` : '';
    const known = shareable ? this.constants.get(key) : undefined;
    if (known) return { name: known, shape };
    const name = this.unique(base);
    this.initializers.push({ name, dataType: FLOAT, dims: shape, rawData: floatBytes(values) });
    if (shareable) this.constants.set(key, name);
    return { name, shape };
  }

  scalar(value: number): Value {
    return this.constant('const', [value], []);
  }

  /** An int64 vector initializer (shapes, axes, slice bounds), shared when repeated. */
  int64s(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.unique('ints');
    this.initializers.push({ name, dataType: INT64, dims: [values.length], rawData: int64Bytes(values) });
    this.constants.set(key, name);
    return name;
  }

  /** An int64 initializer of any shape (Gather indices), never shared. */
  int64Tensor(base: string, values: readonly number[], shape: number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dataType: INT64, dims: shape, rawData: int64Bytes(values) });
    return name;
  }

  /** One node with one output of the given shape. */
  op(opType: string, inputs: (Value | string)[], shape: number[], base: string, attribute: onnx.IAttributeProto[] = []): Value {
    const name = this.unique(base);
    const input = inputs.map((v) => (typeof v === 'string' ? v : v.name));
    this.nodes.push({ opType, input, output: [name], name, attribute });
    return { name, shape };
  }

  // Shorthands for the elementwise and shape operators the rules use most.

  add(a: Value, b: Value, base: string): Value {
    return this.op('Add', [a, b], broadcastShape(a.shape, b.shape), base);
  }

  sub(a: Value, b: Value, base: string): Value {
    return this.op('Sub', [a, b], broadcastShape(a.shape, b.shape), base);
  }

  mul(a: Value, b: Value, base: string): Value {
    return this.op('Mul', [a, b], broadcastShape(a.shape, b.shape), base);
  }

  div(a: Value, b: Value, base: string): Value {
    return this.op('Div', [a, b], broadcastShape(a.shape, b.shape), base);
  }

  transpose(x: Value, perm: number[], base: string): Value {
    return this.op(
      'Transpose',
      [x],
      perm.map((p) => x.shape[p]),
      base,
      [ints('perm', perm)],
    );
  }

  reshape(x: Value, shape: number[], base: string): Value {
    return this.op('Reshape', [x, this.int64s(shape)], shape, base);
  }

  /** Sum over `axes`, keeping them as size 1 when `keep`. */
  reduceSum(x: Value, axes: number[], base: string, keep = true): Value {
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return this.op('ReduceSum', [x, this.int64s(axes)], shape, base, [int('keepdims', keep ? 1 : 0)]);
  }

  reduceMean(x: Value, axes: number[], base: string, keep = true): Value {
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return this.op('ReduceMean', [x], shape, base, [ints('axes', axes), int('keepdims', keep ? 1 : 0)]);
  }

  /** x[starts:ends] on `axes` (step 1). */
  slice(x: Value, axes: number[], starts: number[], ends: number[], base: string): Value {
    const shape = [...x.shape];
    axes.forEach((a, i) => (shape[a] = ends[i] - starts[i]));
    return this.op('Slice', [x, this.int64s(starts), this.int64s(ends), this.int64s(axes)], shape, base);
  }

  /** x reversed along `axes`: a Slice with step -1 from each axis's last index to before its first. */
  reverse(x: Value, axes: number[], base: string): Value {
    const beforeFirst = -(2 ** 31);
    const each = (v: number) => this.int64s(axes.map(() => v));
    return this.op('Slice', [x, each(-1), each(beforeFirst), this.int64s(axes), each(-1)], x.shape, base);
  }

  /** The serialised ModelProto. */
  encode(name: string): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: TRAINING_IR_VERSION,
      opsetImport: [{ domain: '', version: TRAINING_OPSET }],
      producerName: 'sr',
      graph: { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}

/** NumPy broadcasting of two static shapes. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}
