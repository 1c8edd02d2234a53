/**
 * Convolutions on ONNX Runtime's native CPU kernels, called from inside tfjs kernels on the wasm
 * backend (the forward Conv2D/FusedConv2D and the forward convolutions the two gradient kernels are
 * written with).
 *
 * Why: XNNPACK in tfjs's wasm build is limited to 128-bit SIMD, while ONNX Runtime's MLAS uses the
 * CPU's full vector width. Measured on this project's 2-core machine, 2 threads each, NHWC in and out
 * (transposes included): 3x3 64->64 on [16,24,24,64] 14 ms against 21 ms; 5x5 64->32 on
 * [16,33,33,64] 30 ms against 41 ms; SRCNN's filter-gradient convolution (33x33 16->32 on
 * [64,33,33,16]) 60 ms against 80 ms.
 *
 * How: tfjs kernels are synchronous and onnxruntime-node's public `InferenceSession.run` returns a
 * promise, but the package's native binding (its `dist/binding` module, documented there as a
 * synchronous session wrapper; the public API defers to it with setImmediate) runs a session
 * synchronously. That is not a public entry point, so its shape is checked when it is loaded and
 * a small convolution is compared with tfjs's own before any kernel uses it: if anything differs,
 * this stays off and tfjs's convolution runs as before (the reason is reported in `sr info`).
 * One small model per convolution geometry (kernel size, padding, strides, dilations): an NHWC
 * input and an HWIO filter in, Transposes around an NCHW Conv, NHWC out, every dimension dynamic.
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import type * as Ort from 'onnxruntime-node';
import { int, ints } from '../../onnx/attributes';
import { ONNXRUNTIME_PACKAGE, onnxRuntime } from '../../onnx/runtime';
import type { ConvAxis } from './conv_geometry';

/** Zero padding added on each side of the two spatial axes. */
export interface ConvPadding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

export interface NativeConvStatus {
  enabled: boolean;
  threads?: number;
  /** Why native convolutions are off, when they are. */
  reason?: string;
}

/** What dist/binding's session object offers (see onnxruntime-node's binding.d.ts). */
interface SyncSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, Ort.Tensor>, fetches: Record<string, null>, options: object): Record<string, Ort.Tensor>;
  dispose(): void;
}

interface SyncBindingModule {
  initOrt(): void;
  binding: { InferenceSession: new () => SyncSession };
}

interface NativeRuntime {
  binding: SyncBindingModule['binding'];
  Tensor: typeof Ort.Tensor;
  threads: number;
  sessions: Map<string, SyncSession>;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
/** NHWC <-> NCHW. */
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
/** Opset 13 has Conv and Transpose with their current semantics. */
const OPSET = 13;
const IR_VERSION = 7;

let active: NativeRuntime | undefined;

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].trim();
}

function dynamicInput(name: string): onnx.IValueInfoProto {
  const dim = [0, 1, 2, 3].map((i) => ({ dimParam: `${name}_${i}` }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

interface Geometry {
  kernel: [number, number];
  padding: ConvPadding;
  strides: [number, number];
  dilations: [number, number];
}

function geometryKey(g: Geometry): string {
  const p = g.padding;
  return [...g.kernel, p.top, p.bottom, p.left, p.right, ...g.strides, ...g.dilations].join(',');
}

/** A one-convolution model: NHWC activations in and out around an NCHW Conv or ConvTranspose. */
function convLikeModel(op: 'Conv' | 'ConvTranspose', g: Geometry, extra: onnx.IAttributeProto[]): Uint8Array {
  const p = g.padding;
  const node: onnx.INodeProto[] = [
    { opType: 'Transpose', input: ['x'], output: ['x_nchw'], attribute: [ints('perm', TO_NCHW)] },
    {
      opType: op,
      input: ['x_nchw', 'w'],
      output: ['y_nchw'],
      attribute: [
        ints('kernel_shape', g.kernel),
        ints('pads', [p.top, p.left, p.bottom, p.right]),
        ints('strides', g.strides),
        ints('dilations', g.dilations),
        int('group', 1),
        ...extra,
      ],
    },
    { opType: 'Transpose', input: ['y_nchw'], output: ['y'], attribute: [ints('perm', TO_NHWC)] },
  ];
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'sr',
    graph: { name: `${op} ${geometryKey(g)}`, node, input: [dynamicInput('x'), dynamicInput('w')], output: [dynamicInput('y')] },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** y = conv(x, w) for one geometry: x NHWC, w OIHW (see oihwWeights), y NHWC. */
export function convModel(g: Geometry): Uint8Array {
  return convLikeModel('Conv', g, []);
}

/**
 * dx for y = conv(x, w) from dy (NHWC) and the same OIHW weights: ONNX's ConvTranspose is that
 * gradient, its weight layout [C_in of the transpose = co, ci, kh, kw] being the forward
 * convolution's OIHW. `outputPadding` restores the input rows and columns that the forward
 * stride skipped at the end.
 */
export function inputGradModel(g: Geometry, outputPadding: [number, number]): Uint8Array {
  return convLikeModel('ConvTranspose', g, [ints('output_padding', outputPadding)]);
}

/**
 * Filters in ONNX's OIHW order, kept per tfjs tensor. tfjs tensors never change their data, so a
 * filter seen before (frozen VGG19 weights in every step, a trainable filter in its forward pass and
 * input gradient) is reordered once. Doing it in the model instead cost more than the convolution for
 * VGG19's 3x3 512->512 layers (ONNX Runtime's Transpose of [3,3,512,512]: about 20 ms of 29).
 * Weak keys: an entry goes when its tensor's data does.
 */
const oihwCache = new WeakMap<object, Float32Array>();

export function oihwWeights(filter: tf.Tensor4D): Float32Array {
  const key = filter.dataId as object;
  let out = oihwCache.get(key);
  if (!out) {
    const [kh, kw, ci, co] = filter.shape;
    const hwio = filter.dataSync() as Float32Array;
    out = new Float32Array(hwio.length);
    let src = 0;
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        for (let i = 0; i < ci; i++) {
          const base = (i * kh + y) * kw + x;
          for (let o = 0; o < co; o++) out[o * ci * kh * kw + base] = hwio[src++];
        }
      }
    }
    oihwCache.set(key, out);
  }
  return out;
}

/** Sessions kept per process; shapes seen once (odd tiles) must not pile up for good. */
const MAX_SESSIONS = 64;

function sessionFor(rt: NativeRuntime, key: string, build: () => Uint8Array): SyncSession {
  let session = rt.sessions.get(key);
  if (session) {
    // Most recently used last, so the oldest is dropped first.
    rt.sessions.delete(key);
    rt.sessions.set(key, session);
    return session;
  }
  const bytes = build();
  session = new rt.binding.InferenceSession();
  session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: rt.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // Shapes vary between calls (tiles, batches); an arena would keep the largest of each for good.
    enableCpuMemArena: false,
    // The wasm threads sit idle while a convolution runs here, and spin-waiting ORT threads would
    // take the cores from them between calls.
    extra: { session: { 'intra_op.allow_spinning': '0' } },
  });
  rt.sessions.set(key, session);
  if (rt.sessions.size > MAX_SESSIONS) {
    const [oldestKey, oldest] = rt.sessions.entries().next().value as [string, SyncSession];
    oldest.dispose();
    rt.sessions.delete(oldestKey);
  }
  return session;
}

/** The output length along one axis (tfjs's and ONNX's rule for explicit padding). */
function outLength(inSize: number, k: number, before: number, after: number, stride: number, dilation: number): number {
  return Math.floor((inSize + before + after - (k - 1) * dilation - 1) / stride) + 1;
}

function runConv(rt: NativeRuntime, x: tf.Tensor4D, filter: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const co = filter.shape[3];
  const p = g.padding;
  const expected = [
    n,
    outLength(h, g.kernel[0], p.top, p.bottom, g.strides[0], g.dilations[0]),
    outLength(w, g.kernel[1], p.left, p.right, g.strides[1], g.dilations[1]),
    co,
  ];
  const [kh, kw, ci] = filter.shape;
  const feeds = {
    x: new rt.Tensor('float32', x.dataSync() as Float32Array, x.shape),
    w: new rt.Tensor('float32', oihwWeights(filter), [co, ci, kh, kw]),
  };
  const y = sessionFor(rt, `conv ${geometryKey(g)}`, () => convModel(g)).run(feeds, { y: null }, {}).y;
  if (y.dims.length !== 4 || y.dims.some((d, i) => d !== expected[i])) {
    throw new Error(`native convolution gave shape [${y.dims}], expected [${expected}]`);
  }
  return tf.tensor4d(y.data as Float32Array, expected as [number, number, number, number]);
}

/**
 * conv(x, filter) in NHWC with explicit padding on ONNX Runtime, or undefined when native
 * convolutions are off or do not apply (non-float32 or empty tensors): the caller then uses tfjs's.
 */
export function nativeConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  padding: ConvPadding,
  strides: [number, number],
  dilations: [number, number],
): tf.Tensor4D | undefined {
  if (!active || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.size === 0 || filter.size === 0) return undefined;
  if (x.shape[3] !== filter.shape[2]) return undefined; // let tfjs report the mismatch in its words
  const g: Geometry = { kernel: [filter.shape[0], filter.shape[1]], padding, strides, dilations };
  const o = [
    outLength(x.shape[1], g.kernel[0], padding.top, padding.bottom, strides[0], dilations[0]),
    outLength(x.shape[2], g.kernel[1], padding.left, padding.right, strides[1], dilations[1]),
  ];
  if (o[0] <= 0 || o[1] <= 0) return undefined;
  return runConv(active, x, filter, g);
}

/** The forward convolution behind a filter gradient, with every size fixed (Slice ends depend on them). */
export interface FilterGradGeometry {
  /** x without its batch: [h, w, inChannels]. */
  input: [number, number, number];
  /** dy without its batch: [outH, outW, outChannels]. */
  output: [number, number, number];
  kernel: [number, number];
  strides: [number, number];
  /** The forward pass's zero padding before the input (top, left). */
  top: number;
  left: number;
}

const INT64 = onnx.TensorProto.DataType.INT64;

function int64Constant(name: string, values: number[]): onnx.ITensorProto {
  // raw_data is little-endian whatever the host's order.
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dataType: INT64, dims: [values.length], rawData: bytes };
}

/**
 * Up to this many channels, the narrow side of a filter gradient is laid out tap by tap (im2col) and
 * the gradient is one matrix product; wider, one product per tap (see filterGradModel).
 */
export const NARROW_CHANNELS = 8;

export type FilterGradLayout = 'per-tap' | 'x-columns' | 'dy-columns';

/**
 * How filterGradModel lays the sum out. Both channel counts wide: one product per tap. Otherwise the
 * side with fewer channels is expanded into kh*kw shifted copies (cheap, it is narrow) so that one
 * product with a long inner dimension computes every tap: x's side always works, dy's only at
 * stride 1 (with a stride, dy's shifts would fall between samples).
 */
export function filterGradLayout(g: Pick<FilterGradGeometry, 'input' | 'output' | 'strides'>): FilterGradLayout {
  const ci = g.input[2];
  const co = g.output[2];
  const strideOne = g.strides[0] === 1 && g.strides[1] === 1;
  if (co < ci && co <= NARROW_CHANNELS && strideOne) return 'dy-columns';
  if (ci <= NARROW_CHANNELS) return 'x-columns';
  return 'per-tap';
}

/**
 * dw[i, j, :, :] = sum over (n, oh, ow) of x_padded[n, oh*s + i, ow*s + j, :]^T dy[n, oh, ow, :].
 * As a convolution (how the wasm kernel does it) the "filter" would be dy, as large as the image,
 * which ONNX Runtime's im2col handles slowly; here it is matrix products with a long inner
 * dimension (n*outH*outW or n*h*w), at GEMM speed, in the layout filterGradLayout picks:
 *  - per-tap: the tap's strided window of x (Slice), [n*outH*outW x ci]^T by dy [n*outH*outW x co];
 *  - x-columns: the windows side by side ([n*outH*outW x kh*kw*ci]), one product with dy;
 *  - dy-columns (stride 1): for each tap, dy shifted to line up with x (zero where no output reads
 *    that input pixel), side by side ([n*h*w x kh*kw*co]), one product with x.
 */
export function filterGradModel(g: FilterGradGeometry): Uint8Array {
  const [h, w, ci] = g.input;
  const [oh, ow, co] = g.output;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const layout = filterGradLayout(g);
  const node: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [int64Constant('axes_hw', [1, 2])];
  const constant = (name: string, values: number[]): string => {
    initializer.push(int64Constant(name, values));
    return name;
  };
  /** `source` padded by the given amounts on the spatial axes, then one window per tap, as listed. */
  const windows = (source: string, pads: [number, number, number, number], starts: (i: number, j: number) => [number, number], length: [number, number], steps: [number, number]): string[] => {
    let padded = source;
    if (pads.some((p) => p > 0)) {
      padded = `${source}_padded`;
      node.push({ opType: 'Pad', input: [source, constant(`${source}_pads`, [0, pads[0], pads[2], 0, 0, pads[1], pads[3], 0])], output: [padded] });
    }
    const steps4 = constant(`${source}_steps`, steps);
    const out: string[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const [r, c] = starts(i, j);
        const name = `${source}_tap_${i}_${j}`;
        const ends = [r + (length[0] - 1) * steps[0] + 1, c + (length[1] - 1) * steps[1] + 1];
        node.push({ opType: 'Slice', input: [padded, constant(`${name}_starts`, [r, c]), constant(`${name}_ends`, ends), 'axes_hw', steps4], output: [name] });
        out.push(name);
      }
    }
    return out;
  };
  const rows = (value: string, columns: number): string => {
    const out = `${value}_rows`;
    node.push({ opType: 'Reshape', input: [value, constant(`${value}_row_shape`, [-1, columns])], output: [out] });
    return out;
  };
  const concatChannels = (values: string[], name: string): string => {
    node.push({ opType: 'Concat', input: values, output: [name], attribute: [int('axis', 3)] });
    return name;
  };
  // Padding of x after the input: only as far as the last tap reaches.
  const xPads: [number, number, number, number] = [g.top, Math.max(0, (oh - 1) * sh + kh - g.top - h), g.left, Math.max(0, (ow - 1) * sw + kw - g.left - w)];
  if (layout === 'per-tap') {
    const dyRows = rows('dy', co);
    const taps = windows('x', xPads, (i, j) => [i, j], [oh, ow], [sh, sw]).map((tap) => {
      node.push({ opType: 'Gemm', input: [rows(tap, ci), dyRows], output: [`${tap}_dw`], attribute: [int('transA', 1)] });
      return `${tap}_dw`;
    });
    node.push({ opType: 'Concat', input: taps, output: ['taps'], attribute: [int('axis', 0)] });
    node.push({ opType: 'Reshape', input: ['taps', constant('hwio', [kh, kw, ci, co])], output: ['dw'] });
  } else if (layout === 'x-columns') {
    const columns = concatChannels(windows('x', xPads, (i, j) => [i, j], [oh, ow], [sh, sw]), 'x_columns');
    node.push({ opType: 'Gemm', input: [rows(columns, kh * kw * ci), rows('dy', co)], output: ['dw_rows'], attribute: [int('transA', 1)] });
    node.push({ opType: 'Reshape', input: ['dw_rows', constant('hwio', [kh, kw, ci, co])], output: ['dw'] });
  } else {
    // Input pixel q meets dy[q - i + top] through tap i; dy padded so that every such index exists.
    const before = [Math.max(0, kh - 1 - g.top), Math.max(0, kw - 1 - g.left)];
    const dyPads: [number, number, number, number] = [before[0], Math.max(0, h + g.top - oh), before[1], Math.max(0, w + g.left - ow)];
    const shifted = windows('dy', dyPads, (i, j) => [g.top - i + before[0], g.left - j + before[1]], [h, w], [1, 1]);
    const columns = concatChannels(shifted, 'dy_columns');
    node.push({ opType: 'Gemm', input: [rows('x', ci), rows(columns, kh * kw * co)], output: ['dw_iwo'], attribute: [int('transA', 1)] });
    node.push({ opType: 'Reshape', input: ['dw_iwo', constant('ihwo', [ci, kh, kw, co])], output: ['dw_ihwo'] });
    node.push({ opType: 'Transpose', input: ['dw_ihwo'], output: ['dw'], attribute: [ints('perm', [1, 2, 0, 3])] });
  }
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'sr',
    graph: { name: `conv filter gradient (${layout})`, node, initializer, input: [dynamicInput('x'), dynamicInput('dy')], output: [dynamicInput('dw')] },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The filter gradient of an NHWC convolution (dilation 1, as tfjs's gradients are) on ONNX Runtime,
 * or undefined when native convolutions are off or do not apply.
 */
export function nativeConvFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  kernel: [number, number],
  strides: [number, number],
  before: { top: number; left: number },
): tf.Tensor4D | undefined {
  if (!active || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.size === 0 || dy.size === 0 || x.shape[0] !== dy.shape[0]) return undefined;
  const g: FilterGradGeometry = {
    input: [x.shape[1], x.shape[2], x.shape[3]],
    output: [dy.shape[1], dy.shape[2], dy.shape[3]],
    kernel,
    strides,
    top: before.top,
    left: before.left,
  };
  const key = `filter-grad ${[...g.input, ...g.output, ...kernel, ...strides, g.top, g.left].join(',')}`;
  const feeds = {
    x: new active.Tensor('float32', x.dataSync() as Float32Array, x.shape),
    dy: new active.Tensor('float32', dy.dataSync() as Float32Array, dy.shape),
  };
  const dw = sessionFor(active, key, () => filterGradModel(g)).run(feeds, { dw: null }, {}).dw;
  const expected = [kernel[0], kernel[1], x.shape[3], dy.shape[3]];
  if (dw.dims.length !== 4 || dw.dims.some((d, i) => d !== expected[i])) {
    throw new Error(`native filter gradient gave shape [${dw.dims}], expected [${expected}]`);
  }
  return tf.tensor4d(dw.data as Float32Array, expected as [number, number, number, number]);
}

/** ConvTranspose's end padding and output padding along one axis, so that dx has the input's length. */
function transposeAxis(axis: ConvAxis): { after: number; outputPadding: number } {
  const reach = (axis.outSize - 1) * axis.stride + axis.filterSize - axis.padBefore;
  return reach >= axis.inSize ? { after: reach - axis.inSize, outputPadding: 0 } : { after: 0, outputPadding: axis.inSize - reach };
}

/**
 * Where ONNX Runtime's ConvTranspose (a matrix product, then col2im over dx) beats the polyphase
 * convolution of conv2d_backprop_input.ts (which rebuilds a reordered filter in JavaScript on every
 * call, then convolves natively): small images with many channels, where the filter is the bulk of
 * the work. Measured (2 threads, ms, ConvTranspose against polyphase): VGG19's 3x3 512->512 on
 * [4,6,6,512] 18 / 65, on [4,12,12,512] 39 / 73, 3x3 256->256 on [4,24,24,256] 38 / 44; but 3x3
 * 64->64 on [4,96,96,64] 67 / 47, SRCNN's 5x5 64->32 on [16,33,33,64] 54 / 23, 3x3 32->32 on
 * [16,24,24,32] 7 / 4. So: dy's pixels per image at most this many times dx's channels.
 */
const CONV_TRANSPOSE_MAX_PIXELS_PER_CHANNEL = 4;

/** How a native input gradient is computed, from dy's height and width and dx's channels. */
export function inputGradLayout(outHeight: number, outWidth: number, inChannels: number): 'conv-transpose' | 'polyphase' {
  return outHeight * outWidth <= CONV_TRANSPOSE_MAX_PIXELS_PER_CHANNEL * inChannels ? 'conv-transpose' : 'polyphase';
}

/**
 * dx of an NHWC convolution (dilation 1, as tfjs's gradients are) described by `rows`/`cols`, on
 * ONNX Runtime as a ConvTranspose; undefined when native convolutions are off or another way is
 * faster (see CONV_TRANSPOSE_MAX_PIXELS_PER_CHANNEL).
 */
export function nativeConvInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, rows: ConvAxis, cols: ConvAxis): tf.Tensor4D | undefined {
  if (!active || dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.size === 0 || filter.size === 0) return undefined;
  const [kh, kw, ci, co] = filter.shape;
  if (dy.shape[3] !== co || dy.shape[1] !== rows.outSize || dy.shape[2] !== cols.outSize) return undefined;
  if (inputGradLayout(rows.outSize, cols.outSize, ci) !== 'conv-transpose') return undefined;
  const r = transposeAxis(rows);
  const c = transposeAxis(cols);
  const g: Geometry = {
    kernel: [kh, kw],
    padding: { top: rows.padBefore, bottom: r.after, left: cols.padBefore, right: c.after },
    strides: [rows.stride, cols.stride],
    dilations: [1, 1],
  };
  const outputPadding: [number, number] = [r.outputPadding, c.outputPadding];
  const feeds = {
    x: new active.Tensor('float32', dy.dataSync() as Float32Array, dy.shape),
    w: new active.Tensor('float32', oihwWeights(filter), [co, ci, kh, kw]),
  };
  const key = `input-grad ${geometryKey(g)},${outputPadding.join(',')}`;
  const dx = sessionFor(active, key, () => inputGradModel(g, outputPadding)).run(feeds, { y: null }, {}).y;
  const expected = [dy.shape[0], rows.inSize, cols.inSize, ci];
  if (dx.dims.length !== 4 || dx.dims.some((d, i) => d !== expected[i])) {
    throw new Error(`native input gradient gave shape [${dx.dims}], expected [${expected}]`);
  }
  return tf.tensor4d(dx.data as Float32Array, expected as [number, number, number, number]);
}

/** Whether kernels send convolutions to ONNX Runtime now. */
export function nativeConvEnabled(): boolean {
  return active !== undefined;
}

/** Largest difference the self-check accepts: float32 sums of 3*3*8 terms of size ~1, in another order. */
const SELF_CHECK_TOLERANCE = 1e-4;

/** One stride-2 'same'-style convolution through both paths; throws when they disagree. */
function selfCheck(rt: NativeRuntime): void {
  tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 7 * 6 * 8 }, (_, i) => Math.sin(i * 0.37)), [2, 7, 6, 8]);
    const w = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 8 * 5 }, (_, i) => Math.cos(i * 0.11)), [3, 3, 8, 5]);
    const g: Geometry = { kernel: [3, 3], padding: { top: 1, bottom: 0, left: 1, right: 1 }, strides: [2, 2], dilations: [1, 1] };
    const reference = tf.conv2d(x, w, 2, [[0, 0], [1, 0], [1, 1], [0, 0]]);
    const native = runConv(rt, x, w, g);
    if (native.shape.join() !== reference.shape.join()) throw new Error(`self-check shape [${native.shape}] against [${reference.shape}]`);
    const diff = tf.max(tf.abs(tf.sub(native, reference))).dataSync()[0];
    if (!(diff <= SELF_CHECK_TOLERANCE)) throw new Error(`self-check differs from tfjs by ${diff}`);
  });
}

function loadBinding(): SyncBindingModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(`${ONNXRUNTIME_PACKAGE}/dist/binding`) as Partial<SyncBindingModule>;
  if (typeof mod.initOrt !== 'function' || typeof mod.binding?.InferenceSession !== 'function') {
    throw new Error(`${ONNXRUNTIME_PACKAGE}'s binding does not have the synchronous session this needs`);
  }
  return mod as SyncBindingModule;
}

/** Frees the sessions and sends convolutions back to tfjs. */
export function disableNativeConv(): void {
  if (!active) return;
  for (const session of active.sessions.values()) session.dispose();
  active = undefined;
}

/**
 * Turns native convolutions on with `threads` intra-op threads, unless SR_NATIVE_CONV=0; says why not
 * when they stay off (ONNX Runtime missing, its binding changed, the self-check failed).
 */
export function enableNativeConv(threads: number): NativeConvStatus {
  disableNativeConv();
  if (process.env.SR_NATIVE_CONV === '0') return { enabled: false, reason: 'turned off (SR_NATIVE_CONV=0)' };
  const rt: NativeRuntime = { binding: undefined as never, Tensor: undefined as never, threads: Math.max(1, Math.floor(threads)), sessions: new Map() };
  try {
    const ort = onnxRuntime();
    const mod = loadBinding();
    mod.initOrt();
    rt.binding = mod.binding;
    rt.Tensor = ort.Tensor;
    selfCheck(rt);
  } catch (err) {
    for (const session of rt.sessions.values()) session.dispose();
    return { enabled: false, reason: firstLine(err) };
  }
  active = rt;
  return { enabled: true, threads: rt.threads };
}

/** The attributes Conv2D and FusedConv2D carry, as far as the convolution goes. */
export type ConvAttrs = Pick<tf.Conv2DAttrs, 'strides' | 'pad' | 'dilations' | 'dimRoundingMode' | 'dataFormat'>;

/** nativeConv2d for a kernel's attributes ('same', 'valid' or explicit padding; NHWC only). */
export function nativeConv2dFromAttrs(x: tf.Tensor4D, filter: tf.Tensor4D, attrs: ConvAttrs): tf.Tensor4D | undefined {
  if (!active || attrs.dataFormat === 'NCHW') return undefined;
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode);
  const { top, bottom, left, right } = info.padInfo;
  return nativeConv2d(x, filter, { top, bottom, left, right }, [info.strideHeight, info.strideWidth], [info.dilationHeight, info.dilationWidth]);
}
