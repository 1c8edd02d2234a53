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
/** NHWC <-> NCHW and HWIO -> OIHW. */
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
const HWIO_TO_OIHW = [3, 2, 0, 1];
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

/** The serialised model computing y = conv(x, w) for one geometry, NHWC/HWIO in, NHWC out. */
export function convModel(g: Geometry): Uint8Array {
  const p = g.padding;
  const node: onnx.INodeProto[] = [
    { opType: 'Transpose', input: ['x'], output: ['x_nchw'], attribute: [ints('perm', TO_NCHW)] },
    { opType: 'Transpose', input: ['w'], output: ['w_oihw'], attribute: [ints('perm', HWIO_TO_OIHW)] },
    {
      opType: 'Conv',
      input: ['x_nchw', 'w_oihw'],
      output: ['y_nchw'],
      attribute: [
        ints('kernel_shape', g.kernel),
        ints('pads', [p.top, p.left, p.bottom, p.right]),
        ints('strides', g.strides),
        ints('dilations', g.dilations),
        int('group', 1),
      ],
    },
    { opType: 'Transpose', input: ['y_nchw'], output: ['y'], attribute: [ints('perm', TO_NHWC)] },
  ];
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'sr',
    graph: { name: `conv ${geometryKey(g)}`, node, input: [dynamicInput('x'), dynamicInput('w')], output: [dynamicInput('y')] },
  });
  return onnx.ModelProto.encode(model).finish();
}

function sessionFor(rt: NativeRuntime, g: Geometry): SyncSession {
  const key = geometryKey(g);
  let session = rt.sessions.get(key);
  if (!session) {
    const bytes = convModel(g);
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
  const feeds = {
    x: new rt.Tensor('float32', x.dataSync() as Float32Array, x.shape),
    w: new rt.Tensor('float32', filter.dataSync() as Float32Array, filter.shape),
  };
  const y = sessionFor(rt, g).run(feeds, { y: null }, {}).y;
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
