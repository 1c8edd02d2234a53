/**
 * MATLAB-compatible `imresize`: every SR benchmark makes its low-resolution inputs this way, and
 * sharp's own cubic filter is a different one. Separable: each output row (or column) is a weighted
 * sum of a few input ones, computed as small matrix products on whatever tfjs backend is active.
 *
 * Facts reproduced from MATLAB's imresize.m: output length ceil(in * scale); output pixel x
 * (1-based) samples input position u = x / scale + 0.5 * (1 - 1 / scale); when shrinking with
 * antialiasing the kernel is stretched by 1 / scale; weights are normalised to sum to one; indices
 * outside the image are mirrored (symmetric padding, the edge pixel repeated).
 */
import * as tf from '@tensorflow/tfjs';

export type ResizeKernel = 'bicubic' | 'bilinear' | 'nearest';
export const RESIZE_KERNELS: ResizeKernel[] = ['bicubic', 'bilinear', 'nearest'];

interface KernelSpec {
  fn: (x: number) => number;
  width: number;
  /** MATLAB antialiases by default for every kernel except nearest. */
  antialias: boolean;
}

/** Keys' cubic convolution with a = -0.5. */
export function cubic(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

function triangle(x: number): number {
  if (x >= -1 && x < 0) return x + 1;
  if (x >= 0 && x <= 1) return 1 - x;
  return 0;
}

function box(x: number): number {
  return x >= -0.5 && x < 0.5 ? 1 : 0;
}

const KERNELS: Record<ResizeKernel, KernelSpec> = {
  bicubic: { fn: cubic, width: 4, antialias: true },
  bilinear: { fn: triangle, width: 2, antialias: true },
  nearest: { fn: box, width: 1, antialias: false },
};

/** Which input samples (0-based) feed each output sample along one axis, and with what weights. */
export interface AxisPlan {
  outLength: number;
  taps: number;
  /** [outLength * taps], row-major by output sample. */
  indices: Int32Array;
  weights: Float32Array;
}

function mirror(index: number, length: number): number {
  // Period 2 * length: 0..length-1 then length-1..0 (the edge sample repeated), as MATLAB pads.
  const period = 2 * length;
  const m = ((index % period) + period) % period;
  return m < length ? m : period - 1 - m;
}

export function outputLength(inLength: number, scale: number): number {
  // Guard against 0.1 * 30 = 3.0000000000000004 turning into 4.
  return Math.ceil(inLength * scale - 1e-9);
}

/** MATLAB's `contributions`, returning 0-based indices with all-zero tap columns removed. */
export function axisPlan(inLength: number, scale: number, kernel: ResizeKernel, outLength = outputLength(inLength, scale)): AxisPlan {
  const spec = KERNELS[kernel];
  const shrinking = scale < 1 && spec.antialias;
  const width = shrinking ? spec.width / scale : spec.width;
  const h = shrinking ? (x: number) => scale * spec.fn(scale * x) : spec.fn;
  const taps = Math.ceil(width) + 2;
  const rawIdx = new Int32Array(outLength * taps);
  const rawW = new Float64Array(outLength * taps);
  for (let x = 1; x <= outLength; x++) {
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - width / 2);
    let sum = 0;
    for (let p = 0; p < taps; p++) {
      const w = h(u - (left + p));
      rawW[(x - 1) * taps + p] = w;
      rawIdx[(x - 1) * taps + p] = left + p; // 1-based, unmirrored
      sum += w;
    }
    for (let p = 0; p < taps; p++) rawW[(x - 1) * taps + p] /= sum;
  }
  // Drop tap columns that are zero for every output sample (MATLAB's `kill`).
  const keep: number[] = [];
  for (let p = 0; p < taps; p++) {
    let any = false;
    for (let x = 0; x < outLength && !any; x++) any = rawW[x * taps + p] !== 0;
    if (any) keep.push(p);
  }
  const indices = new Int32Array(outLength * keep.length);
  const weights = new Float32Array(outLength * keep.length);
  for (let x = 0; x < outLength; x++) {
    keep.forEach((p, k) => {
      indices[x * keep.length + k] = mirror(rawIdx[x * taps + p] - 1, inLength);
      weights[x * keep.length + k] = rawW[x * taps + p];
    });
  }
  return { outLength, taps: keep.length, indices, weights };
}

/** Output samples per matrix product: each block reads about block / scale + taps input samples. */
const OUTPUTS_PER_BLOCK = 64;

/** The dense weights of output samples [from, to) over the input samples they read, [lo, lo + window). */
function blockMatrix(plan: AxisPlan, from: number, to: number): { lo: number; window: number; weights: Float32Array } {
  const { taps, indices } = plan;
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = from * taps; k < to * taps; k++) {
    lo = Math.min(lo, indices[k]);
    hi = Math.max(hi, indices[k]);
  }
  const window = hi - lo + 1;
  const sums = new Float64Array((to - from) * window);
  // Mirrored edges can name one input twice for an output: its weights add up.
  for (let x = from; x < to; x++) {
    for (let p = 0; p < taps; p++) sums[(x - from) * window + indices[x * taps + p] - lo] += plan.weights[x * taps + p];
  }
  return { lo, window, weights: Float32Array.from(sums) };
}

/**
 * Resizes one axis of a tensor of any rank with a plan, as matrix products: the axis is moved to the
 * front and flattened against the others, and each block of output samples is its small dense
 * weight matrix times the window of input rows it reads. (A gather per tap was far slower on wasm than
 * these products: docs/performance.md, "Kernel and engine measurements".)
 */
export function resizeAxis(x: tf.Tensor, axis: number, plan: AxisPlan): tf.Tensor {
  const order = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
  const back = order.map((_, i) => order.indexOf(i));
  const rest = order.slice(1).map((i) => x.shape[i]);
  const columns = rest.reduce((a, b) => a * b, 1);
  const flat = tf.tidy(() => (axis === 0 ? x : tf.transpose(x, order)).reshape([x.shape[axis], columns]));
  const blocks: tf.Tensor[] = [];
  try {
    for (let from = 0; from < plan.outLength; from += OUTPUTS_PER_BLOCK) {
      const to = Math.min(plan.outLength, from + OUTPUTS_PER_BLOCK);
      const { lo, window, weights } = blockMatrix(plan, from, to);
      blocks.push(tf.tidy(() => tf.matMul(tf.tensor2d(weights, [to - from, window]), flat.slice([lo, 0], [window, columns]))));
    }
  } catch (err) {
    tf.dispose(blocks);
    throw err;
  } finally {
    flat.dispose();
  }
  // Joined, reshaped and moved back one at a time: at most two output-sized tensors at once.
  const joined = blocks.length === 1 ? blocks[0] : tf.concat(blocks, 0);
  if (joined !== blocks[0]) tf.dispose(blocks);
  const shaped = joined.reshape([plan.outLength, ...rest]);
  joined.dispose();
  if (axis === 0) return shaped;
  const result = tf.transpose(shaped, back);
  shaped.dispose();
  return result;
}

export interface ResizeOptions {
  kernel?: ResizeKernel;
  /** Exact output size; defaults to ceil(in * scale). */
  outHeight?: number;
  outWidth?: number;
}

/**
 * imresize(x, scale) for [H, W, C] or [N, H, W, C] float tensors. Rows are resized first, then
 * columns (MATLAB's order for equal scales). Values are not clipped, as in MATLAB's double path.
 */
export function imresize<T extends tf.Tensor3D | tf.Tensor4D>(x: T, scale: number, options: ResizeOptions = {}): T {
  const kernel = options.kernel ?? 'bicubic';
  const hAxis = x.rank - 3;
  const wAxis = x.rank - 2;
  const inH = x.shape[hAxis];
  const inW = x.shape[wAxis];
  const outH = options.outHeight ?? outputLength(inH, scale);
  const outW = options.outWidth ?? outputLength(inW, scale);
  return tf.tidy(() => {
    // An axis whose length does not change is left alone (a 1-pixel-high strip stays one row).
    const rows = outH === inH ? x : resizeAxis(x, hAxis, axisPlan(inH, scale, kernel, outH));
    return (outW === inW ? rows : resizeAxis(rows, wAxis, axisPlan(inW, scale, kernel, outW))) as T;
  });
}

/** Crops height and width down to multiples of `scale` (from the bottom and right), as benchmarks do. */
export function modcrop<T extends tf.Tensor3D | tf.Tensor4D>(x: T, scale: number): T {
  const hAxis = x.rank - 3;
  const h = x.shape[hAxis];
  const w = x.shape[hAxis + 1];
  const ch = h - (h % scale);
  const cw = w - (w % scale);
  if (ch === h && cw === w) return x.clone() as T;
  const begin = x.shape.map(() => 0);
  const size = x.shape.map((d, i) => (i === hAxis ? ch : i === hAxis + 1 ? cw : d));
  return tf.slice(x, begin, size) as T;
}
