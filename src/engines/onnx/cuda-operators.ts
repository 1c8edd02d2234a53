/**
 * The ONNX operators sr's graphs use (domain '': the training step graphs at opset 17, the inference
 * export at opset 13), with the kernels ONNX Runtime's CUDA execution provider registers for them,
 * and a check that lists the operators of a model this table does not show on CUDA.
 *
 * Source: ONNX Runtime's docs/OperatorKernels.md (generated from the registered kernels), section
 * "Operators implemented by CUDAExecutionProvider", domain ai.onnx, read at microsoft/onnxruntime
 * commit 001d12d2623fd411ce0f83d05abb5e82304a3389 (a main-branch snapshot that already lists
 * opset-24 kernels; sr pins onnxruntime-node 1.30.0, whose release tag could not be read here). An
 * older snapshot (commit 8f063305aacd23aadf77cda4c52e0592a02a7161, opset-19 era) lists the same CUDA
 * kernels at opsets 13-17 for the operators spot-checked, so the table does not hinge on the release.
 *
 * Only what matters here was recorded: per operator, the kernel registrations whose opset range
 * meets opsets 13..17, whether their type constraint includes tensor(float), and for operators with
 * an integer index or shape operand whether tensor(int64) is allowed there.
 */
import { onnx } from 'onnx-proto';

/** One kernel registration's opset versions, inclusive; `to` null is the list's "N+" (N and later). */
export interface OpsetRange {
  readonly from: number;
  readonly to: number | null;
}

export interface CudaOperator {
  /** The CUDA kernel registrations whose range meets opsets 13..17 (`CHECKED_OPSETS`). */
  readonly kernels: readonly OpsetRange[];
  /** tensor(float) is in the data type constraint of every kernel listed. */
  readonly float: boolean;
  /** The operand that carries int64 in sr's graphs (indices, shapes, axes) and whether the kernel takes int64 there. */
  readonly int64?: { readonly operand: string; readonly supported: boolean };
}

/** The opsets the table was read for: 13 (inference export) to 17 (training graphs). */
export const CHECKED_OPSETS: OpsetRange = { from: 13, to: 17 };

const r = (from: number, to: number | null = from): OpsetRange => ({ from, to });
const open = (from: number): OpsetRange => ({ from, to: null });

/** ONNX operator (domain '') -> the CUDA execution provider's kernels for it. */
export const CUDA_OPERATORS: Readonly<Record<string, CudaOperator>> = {
  Abs: { kernels: [open(13)], float: true },
  Add: { kernels: [r(13), open(14)], float: true },
  BatchNormalization: { kernels: [r(9, 13), r(14), open(15)], float: true },
  Concat: { kernels: [open(13)], float: true },
  ConstantOfShape: { kernels: [open(9)], float: true, int64: { operand: 'input (the shape)', supported: true } },
  Conv: { kernels: [r(11, 21)], float: true },
  ConvTranspose: { kernels: [open(11)], float: true },
  DepthToSpace: { kernels: [open(13)], float: true },
  Div: { kernels: [r(13), open(14)], float: true },
  Equal: { kernels: [open(13)], float: true },
  Exp: { kernels: [open(13)], float: true },
  Gather: { kernels: [open(13)], float: true, int64: { operand: 'indices (Tind)', supported: true } },
  Gemm: { kernels: [open(13)], float: true },
  Greater: { kernels: [open(13)], float: true },
  Identity: { kernels: [r(13), r(14, 18)], float: true },
  LeakyRelu: { kernels: [r(6, 15), open(16)], float: true },
  Less: { kernels: [open(13)], float: true },
  Log: { kernels: [open(13)], float: true },
  MatMul: { kernels: [open(13)], float: true },
  Max: { kernels: [open(13)], float: true },
  MaxPool: { kernels: [open(12)], float: true, int64: { operand: 'Indices output (I)', supported: true } },
  Mul: { kernels: [r(13), open(14)], float: true },
  Neg: { kernels: [open(13)], float: true },
  Pad: { kernels: [r(13, 17)], float: true, int64: { operand: 'pads', supported: true } },
  PRelu: { kernels: [r(9, 15), open(16)], float: true },
  Reciprocal: { kernels: [open(13)], float: true },
  ReduceMean: { kernels: [r(1, 17)], float: true },
  ReduceSum: { kernels: [open(13)], float: true, int64: { operand: 'axes', supported: true } },
  Relu: { kernels: [r(13), open(14)], float: true },
  // Reshape also carries MaxPool's int64 indices as data (T includes tensor(int64)).
  Reshape: { kernels: [r(13), r(14, 18)], float: true, int64: { operand: 'shape, and int64 data', supported: true } },
  Resize: { kernels: [r(13, 17)], float: true },
  ScatterElements: { kernels: [r(13, 15), r(16, 17)], float: true, int64: { operand: 'indices (Tind)', supported: true } },
  Sigmoid: { kernels: [open(13)], float: true },
  Slice: { kernels: [open(13)], float: true, int64: { operand: 'starts, ends, axes (Tind)', supported: true } },
  SpaceToDepth: { kernels: [open(13)], float: true },
  Sqrt: { kernels: [open(13)], float: true },
  Sub: { kernels: [r(13), open(14)], float: true },
  Tanh: { kernels: [open(13)], float: true },
  Transpose: { kernels: [r(13, 20)], float: true },
  Where: { kernels: [r(9, 15), open(16)], float: true },
};

const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

function covers(range: OpsetRange, opset: number): boolean {
  return opset >= range.from && (range.to === null || opset <= range.to);
}

/**
 * Whether the table shows a CUDA kernel for `opType` (domain '') at `opset`, with tensor(float) and,
 * where the operator has one, int64 on its index or shape operand. A kernel covers a model's opset
 * when its range holds it: ranges start at an operator version and end just before the next one.
 */
export function onCuda(opType: string, opset: number): boolean {
  const entry = Object.hasOwn(CUDA_OPERATORS, opType) ? CUDA_OPERATORS[opType] : undefined;
  if (!entry || !entry.float || entry.int64?.supported === false) return false;
  return entry.kernels.some((k) => covers(k, opset));
}

function decode(model: Uint8Array | onnx.IModelProto): onnx.IModelProto {
  return model instanceof Uint8Array ? onnx.ModelProto.decode(model) : model;
}

/** Every node of `graph` and of the graphs in its nodes' attributes (If, Loop, Scan bodies), depth first. */
function* nodesOf(graph: onnx.IGraphProto | null | undefined): Generator<onnx.INodeProto> {
  for (const node of graph?.node ?? []) {
    yield node;
    for (const a of node.attribute ?? []) {
      if (a.g) yield* nodesOf(a.g);
      for (const g of a.graphs ?? []) yield* nodesOf(g);
    }
  }
}

/** A node's operator as this module names it: `Conv` in the default domain, `domain:Op` elsewhere. */
function operatorName(node: onnx.INodeProto): string {
  const domain = node.domain ?? '';
  return DEFAULT_DOMAINS.has(domain) ? (node.opType ?? '') : `${domain}:${node.opType ?? ''}`;
}

/** The model's opset of the default ONNX domain (undefined when it imports none). */
export function defaultOpset(model: Uint8Array | onnx.IModelProto): number | undefined {
  const m = decode(model);
  const entry = (m.opsetImport ?? []).find((o) => DEFAULT_DOMAINS.has(o.domain ?? ''));
  return entry?.version == null ? undefined : Number(entry.version);
}

/** The operators a model's nodes use, subgraphs included, sorted and each once (`domain:Op` outside the default domain). */
export function graphOperators(model: Uint8Array | onnx.IModelProto): string[] {
  const m = decode(model);
  return [...new Set(Array.from(nodesOf(m.graph), operatorName))].sort();
}

/**
 * The operators of a model (subgraphs included) that the table does not show on the CUDA provider
 * for the model's opset: operators outside the table, operators of other domains (`domain:Op`), and
 * every operator when the model imports no default-domain opset. Sorted, each once; empty when every
 * node has a CUDA kernel for tensor(float).
 */
export function operatorsNotOnCuda(model: Uint8Array | onnx.IModelProto): string[] {
  const m = decode(model);
  const opset = defaultOpset(m);
  return graphOperators(m).filter((op) => op.includes(':') || opset === undefined || !onCuda(op, opset));
}
