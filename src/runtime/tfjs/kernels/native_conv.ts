/**
 * Convolutions on ONNX Runtime's native CPU kernels, called from inside tfjs kernels on the wasm
 * backend: the forward Conv2D/FusedConv2D (conv2d.ts, fused_conv2d.ts), the input gradient
 * (conv2d_backprop_input.ts: a ConvTranspose here, or its polyphase convolution) and the filter
 * gradient (conv2d_backprop_filter.ts: matrix products here). The models are in native_models.ts.
 *
 * Why: XNNPACK in tfjs's wasm build is limited to 128-bit SIMD, while ONNX Runtime's MLAS uses the
 * CPU's full vector width, so the same convolutions run faster there: VGG19's forward and backward
 * pass, the filter gradients (conv2d_backprop_filter.ts) and the SRCNN training step (measurements:
 * docs/performance.md, "Kernel and engine measurements").
 *
 * How: tfjs kernels are synchronous and onnxruntime-node's public `InferenceSession.run` returns a
 * promise, but the package's native binding (its `dist/binding` module, documented there as a
 * synchronous session wrapper; the public API defers to it with setImmediate) runs a session
 * synchronously. That is not a public entry point, so its shape is checked when it is loaded and
 * a small convolution is compared with tfjs's own before any kernel uses it: if anything differs,
 * this stays off and tfjs's convolution runs as before (the reason is reported in `sr info`).
 * Sessions are kept per model (geometry), weights reordered to OIHW once per filter tensor.
 */
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { ONNXRUNTIME_PACKAGE, onnxRuntime } from '../../onnx/session';
import type { ConvAxis } from './conv_geometry';
import { gradientAxes } from './kernel_util';
import {
  convModel,
  filterGradModel,
  geometryKey,
  inputGradModel,
  type ConvPadding,
  type FilterGradGeometry,
  type Geometry,
} from './native_models';
import { firstLine } from '../../../core/errors';

export { filterGradLayout, type ConvPadding } from './native_models';

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

let active: NativeRuntime | undefined;

/**
 * Filters in ONNX's OIHW order, kept per tfjs tensor data. tfjs never changes the data behind a
 * dataId (a Variable's assign takes the new value's), so a filter seen before (frozen VGG19 weights
 * in every step, a trainable filter in its forward pass and input gradient) is reordered once. Doing
 * it in the model instead cost more than the convolution for VGG19's 3x3 512->512 layers (ONNX
 * Runtime's Transpose of [3,3,512,512] took most of the run; docs/performance.md, "Kernel and engine
 * measurements"). A reshape shares its source's dataId, so the shape is part of the entry. Weak
 * keys: an entry is collected with its dataId object.
 */
const oihwCache = new WeakMap<object, { shape: string; data: Float32Array }>();

export function oihwWeights(filter: tf.Tensor4D): Float32Array {
  const key = filter.dataId as object;
  const shape = filter.shape.join(',');
  const cached = oihwCache.get(key);
  if (cached && cached.shape === shape) return cached.data;
  const [kh, kw, ci, co] = filter.shape;
  const hwio = filter.dataSync() as Float32Array;
  const data = new Float32Array(hwio.length);
  let src = 0;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        const base = (i * kh + y) * kw + x;
        for (let o = 0; o < co; o++) data[o * ci * kh * kw + base] = hwio[src++];
      }
    }
  }
  oihwCache.set(key, { shape, data });
  return data;
}

/**
 * Sessions kept per process; shapes seen once (odd tiles) must not pile up for good. Each session
 * has its own intra-op pool (onnxruntime-node has no shared one), threads-1 idle threads apiece
 * (at most 7: wasm runs at most 8 threads); an SRGAN step uses about 30 models.
 */
const MAX_SESSIONS = 64;

function loadModel(session: SyncSession, bytes: Uint8Array, threads: number): void {
  session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: threads,
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
}

function sessionFor(rt: NativeRuntime, key: string, build: () => Uint8Array): SyncSession {
  const cached = rt.sessions.get(key);
  if (cached) {
    // Most recently used last, so the oldest is dropped first.
    rt.sessions.delete(key);
    rt.sessions.set(key, cached);
    return cached;
  }
  const bytes = build();
  const session = new rt.binding.InferenceSession();
  try {
    loadModel(session, bytes, rt.threads);
  } catch (err) {
    session.dispose();
    throw err;
  }
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

/**
 * Runs the session for `key` (built by `build` on first use) and returns output `name` as a tfjs
 * tensor, after checking it has the shape the caller worked out.
 */
function runModel(
  rt: NativeRuntime,
  key: string,
  build: () => Uint8Array,
  feeds: Record<string, tf.Tensor | { data: Float32Array; shape: number[] }>,
  name: string,
  expected: number[],
  what: string,
): tf.Tensor4D {
  // Test hook: a failing ONNX Runtime, to check the fallback (see guarded).
  if (process.env.SR_NATIVE_CONV_FAULT === 'run') throw new Error('injected failure (SR_NATIVE_CONV_FAULT=run)');
  const ortFeeds: Record<string, Ort.Tensor> = {};
  for (const [input, value] of Object.entries(feeds)) {
    const data = value instanceof tf.Tensor ? (value.dataSync() as Float32Array) : value.data;
    ortFeeds[input] = new rt.Tensor('float32', data, value.shape);
  }
  const out = sessionFor(rt, key, build).run(ortFeeds, { [name]: null }, {})[name];
  if (out.dims.length !== 4 || out.dims.some((d, i) => d !== expected[i])) {
    throw new Error(`native ${what} gave shape [${out.dims}], expected [${expected}]`);
  }
  return tf.tensor4d(out.data as Float32Array, expected as [number, number, number, number]);
}

/**
 * Runs `f` on the active runtime. An ONNX Runtime failure (or a result of the wrong shape) turns
 * native convolutions off for the rest of the process, says so once on stderr, and gives undefined,
 * so that the caller computes the same thing on the tfjs backend instead of stopping a training run.
 */
function guarded<T>(f: (rt: NativeRuntime) => T): T | undefined {
  const rt = active;
  if (!rt) return undefined;
  try {
    return f(rt);
  } catch (err) {
    disableNativeConv();
    process.stderr.write(
      `sr: native convolutions turned off after an ONNX Runtime error (${firstLine(err)}); continuing on the tfjs backend\n`,
    );
    return undefined;
  }
}

/** A filter as the OIHW feed the models take. */
function oihwFeed(filter: tf.Tensor4D): { data: Float32Array; shape: number[] } {
  const [kh, kw, ci, co] = filter.shape;
  return { data: oihwWeights(filter), shape: [co, ci, kh, kw] };
}

/** y's shape for conv(x, filter) with geometry g. */
function convOutputShape(x: tf.Tensor4D, filter: tf.Tensor4D, g: Geometry): number[] {
  const p = g.padding;
  return [
    x.shape[0],
    outLength(x.shape[1], g.kernel[0], p.top, p.bottom, g.strides[0], g.dilations[0]),
    outLength(x.shape[2], g.kernel[1], p.left, p.right, g.strides[1], g.dilations[1]),
    filter.shape[3],
  ];
}

function runConv(rt: NativeRuntime, x: tf.Tensor4D, filter: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  return runModel(
    rt,
    `conv ${geometryKey(g)}`,
    () => convModel(g),
    { x, w: oihwFeed(filter) },
    'y',
    convOutputShape(x, filter, g),
    'convolution',
  );
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
  // tfjs crops for negative explicit padding; ONNX pads cannot be negative.
  if (padding.top < 0 || padding.bottom < 0 || padding.left < 0 || padding.right < 0) return undefined;
  const g: Geometry = { kernel: [filter.shape[0], filter.shape[1]], padding, strides, dilations };
  const [, oh, ow] = convOutputShape(x, filter, g);
  if (oh <= 0 || ow <= 0) return undefined;
  return guarded((rt) => runConv(rt, x, filter, g));
}

function runFilterGrad(
  rt: NativeRuntime,
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  kernel: [number, number],
  strides: [number, number],
  before: { top: number; left: number },
): tf.Tensor4D {
  const g: FilterGradGeometry = {
    input: [x.shape[1], x.shape[2], x.shape[3]],
    output: [dy.shape[1], dy.shape[2], dy.shape[3]],
    kernel,
    strides,
    top: before.top,
    left: before.left,
  };
  const key = `filter-grad ${[...g.input, ...g.output, ...kernel, ...strides, g.top, g.left].join(',')}`;
  return runModel(rt, key, () => filterGradModel(g), { x, dy }, 'dw', [kernel[0], kernel[1], x.shape[3], dy.shape[3]], 'filter gradient');
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
  if (!active || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.size === 0 || dy.size === 0 || x.shape[0] !== dy.shape[0])
    return undefined;
  if (before.top < 0 || before.left < 0) return undefined;
  return guarded((rt) => runFilterGrad(rt, x, dy, kernel, strides, before));
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
 * the work; on larger images with fewer channels the polyphase convolution is faster. The two were
 * timed against each other on VGG19's, SRCNN's and smaller 3x3 layers (measurements:
 * docs/performance.md, "Kernel and engine measurements"), and this bound separates the cases: dy's
 * pixels per image at most this many times dx's channels.
 */
const CONV_TRANSPOSE_MAX_PIXELS_PER_CHANNEL = 4;

/** How a native input gradient is computed, from dy's height and width and dx's channels. */
export function inputGradLayout(outHeight: number, outWidth: number, inChannels: number): 'conv-transpose' | 'polyphase' {
  return outHeight * outWidth <= CONV_TRANSPOSE_MAX_PIXELS_PER_CHANNEL * inChannels ? 'conv-transpose' : 'polyphase';
}

function runInputGrad(rt: NativeRuntime, dy: tf.Tensor4D, filter: tf.Tensor4D, rows: ConvAxis, cols: ConvAxis): tf.Tensor4D {
  const [kh, kw, ci] = filter.shape;
  const r = transposeAxis(rows);
  const c = transposeAxis(cols);
  const g: Geometry = {
    kernel: [kh, kw],
    padding: { top: rows.padBefore, bottom: r.after, left: cols.padBefore, right: c.after },
    strides: [rows.stride, cols.stride],
    dilations: [1, 1],
  };
  const outputPadding: [number, number] = [r.outputPadding, c.outputPadding];
  const key = `input-grad ${geometryKey(g)},${outputPadding.join(',')}`;
  const expected = [dy.shape[0], rows.inSize, cols.inSize, ci];
  return runModel(rt, key, () => inputGradModel(g, outputPadding), { x: dy, w: oihwFeed(filter) }, 'y', expected, 'input gradient');
}

/**
 * dx of an NHWC convolution (dilation 1, as tfjs's gradients are) described by `rows`/`cols`, on
 * ONNX Runtime as a ConvTranspose; undefined when native convolutions are off or another way is
 * faster (see CONV_TRANSPOSE_MAX_PIXELS_PER_CHANNEL).
 */
export function nativeConvInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, rows: ConvAxis, cols: ConvAxis): tf.Tensor4D | undefined {
  if (!active || dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.size === 0 || filter.size === 0) return undefined;
  const [, , ci, co] = filter.shape;
  if (dy.shape[3] !== co || dy.shape[1] !== rows.outSize || dy.shape[2] !== cols.outSize || rows.padBefore < 0 || cols.padBefore < 0)
    return undefined;
  if (inputGradLayout(rows.outSize, cols.outSize, ci) !== 'conv-transpose') return undefined;
  return guarded((rt) => runInputGrad(rt, dy, filter, rows, cols));
}

/** Whether kernels send convolutions to ONNX Runtime now. */
export function nativeConvEnabled(): boolean {
  return active !== undefined;
}

/** Largest difference the self-check accepts, relative to the result's largest value: float32 sums in another order. */
const SELF_CHECK_TOLERANCE = 1e-4;

function expectClose(native: tf.Tensor, reference: tf.Tensor, what: string): void {
  if (native.shape.join() !== reference.shape.join())
    throw new Error(`self-check: ${what} has shape [${native.shape}], tfjs [${reference.shape}]`);
  const diff = tf.max(tf.abs(tf.sub(native, reference))).dataSync()[0];
  const scale = Math.max(1, tf.max(tf.abs(reference)).dataSync()[0]);
  if (!(diff <= SELF_CHECK_TOLERANCE * scale)) throw new Error(`self-check: ${what} differs from tfjs by ${diff}`);
}

/**
 * A stride-2 convolution with uneven padding, its input gradient (ConvTranspose) and its filter
 * gradient (Slice, Pad, Concat, Gemm) through both paths; throws when they disagree. Runs before
 * native convolutions are on, so tfjs's own kernels give the reference.
 */
function selfCheck(rt: NativeRuntime): void {
  tf.tidy(() => {
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 7 * 6 * 8 }, (_, i) => Math.sin(i * 0.37)),
      [2, 7, 6, 8],
    );
    const w = tf.tensor4d(
      Float32Array.from({ length: 3 * 3 * 8 * 5 }, (_, i) => Math.cos(i * 0.11)),
      [3, 3, 8, 5],
    );
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 0],
    ];
    const g: Geometry = { kernel: [3, 3], padding: { top: 1, bottom: 0, left: 1, right: 1 }, strides: [2, 2], dilations: [1, 1] };
    const y = tf.conv2d(x, w, 2, pad);
    expectClose(runConv(rt, x, w, g), y, 'a convolution');
    const dy = tf.tensor4d(
      Float32Array.from({ length: y.size }, (_, i) => Math.cos(i * 0.23)),
      y.shape,
    );
    const attrs = { strides: 2, pad, dataFormat: 'NHWC' };
    const { rows, cols } = gradientAxes(x.shape, w.shape, { strides: 2, pad, dataFormat: 'NHWC' }, dy.shape);
    const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor;
    expectClose(runInputGrad(rt, dy, w, rows, cols), dx, 'an input gradient');
    const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor;
    expectClose(runFilterGrad(rt, x, dy, [3, 3], [2, 2], { top: rows.padBefore, left: cols.padBefore }), dw, 'a filter gradient');
  });
}

function loadBinding(): SyncBindingModule {
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
  const rt: NativeRuntime = {
    binding: undefined as never,
    Tensor: undefined as never,
    threads: Math.max(1, Math.floor(threads)),
    sessions: new Map(),
  };
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
  const { top, left } = info.padInfo;
  // With dimRoundingMode 'ceil' or 'round' tfjs's output can reach past the padding it states;
  // zeros there, as the cpu backend reads them (wasm's own kernel leaves that part unwritten).
  const reach = (out: number, stride: number, effectiveFilter: number) => (out - 1) * stride + effectiveFilter;
  const bottom = Math.max(info.padInfo.bottom, reach(info.outHeight, info.strideHeight, info.effectiveFilterHeight) - top - info.inHeight);
  const right = Math.max(info.padInfo.right, reach(info.outWidth, info.strideWidth, info.effectiveFilterWidth) - left - info.inWidth);
  const g: Geometry = {
    kernel: [filter.shape[0], filter.shape[1]],
    padding: { top, bottom, left, right },
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
  };
  const [, oh, ow] = convOutputShape(x, filter, g);
  if (oh !== info.outHeight || ow !== info.outWidth) return undefined;
  return nativeConv2d(x, filter, g.padding, g.strides, g.dilations);
}
