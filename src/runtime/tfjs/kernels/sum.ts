/**
 * Sum over the leading axes as a matrix product with a column of ones (over batch, height and width
 * of an NHWC tensor, average pooling first).
 *
 * Every bias gradient is such a sum (tfjs's fused conv2d and dense gradients reduce dy over batch and
 * space), and the wasm backend's Sum handles it badly: it first transposes the reduced axes innermost
 * (single-threaded) and then sums each row on one thread. Reshaped to [rows, C] and transposed, the same
 * sum is [C, rows] x ones[rows, 1], which XNNPACK runs multithreaded. The order matters: the wasm
 * BatchMatMul packs its second operand into XNNPACK's weight layout and caches that only for as long as
 * the tensor lives, so with dy as the second operand (ones[1, rows] x [rows, C]) every new gradient was
 * repacked, while packing the ones costs nothing and the transpose is cheaper than that repacking
 * (measurements: docs/performance.md, "Kernel and engine measurements").
 * Other reductions (inner axes need no transpose), other dtypes and small inputs go to the backend's
 * own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { inputTensor } from './kernel_util';
import { delegatingKernel } from './registry';

const NAME = tf.Sum;

/** Below this many elements the backend's own loop is as fast as setting up a matrix product. */
export const MIN_MATMUL_SUM_SIZE = 4096;

/** The [rows, cols] matrix a leading-axes sum reduces over its rows, or null where the rewrite does not apply. */
export interface LeadingSumPlan {
  /** Number of leading axes reduced. */
  axes: number;
  rows: number;
  cols: number;
}

export function leadingAxesSumPlan(shape: readonly number[], axis: number | number[]): LeadingSumPlan | null {
  const axes = [...new Set(tf.util.parseAxisParam(axis, [...shape]))].sort((a, b) => a - b);
  const k = axes.length;
  // Reducing every axis, or trailing ones, needs no transpose on the backend's side.
  if (k === 0 || k === shape.length || axes.some((a, i) => a !== i)) return null;
  const rows = shape.slice(0, k).reduce((p, d) => p * d, 1);
  const cols = shape.slice(k).reduce((p, d) => p * d, 1);
  return rows > 1 && cols > 0 ? { axes: k, rows, cols } : null;
}

/**
 * Largest side of the pooling windows that pre-reduce an NHWC sum over batch, height and width:
 * XNNPACK's average pooling adds up to 64 values per window, multithreaded, and is faster than the
 * transpose the matrix product needs (measurements: docs/performance.md, "Kernel and engine
 * measurements"); windows of more values lost precision (2.8e-4 relative over 48x48 windows).
 */
export const MAX_POOL_SIDE = 8;

/** The largest divisor of `side` up to MAX_POOL_SIDE: windows that tile the image exactly. */
export function poolSide(side: number): number {
  for (let k = Math.min(side, MAX_POOL_SIDE); k > 1; k--) if (side % k === 0) return k;
  return 1;
}

/**
 * sum(x, [0, 1, 2]) for NHWC x as window sums (average pooling times the window size) summed again,
 * which lands in this kernel once more on the smaller tensor; null when no side can be pooled.
 */
function sumOverImagesByPooling(x: tf.Tensor4D): tf.Tensor | null {
  const [, h, w] = x.shape;
  const kh = poolSide(h);
  const kw = poolSide(w);
  if (kh === 1 && kw === 1) return null;
  return tf.sum(tf.mul(tf.avgPool(x, [kh, kw], [kh, kw], 'valid'), kh * kw), [0, 1, 2]);
}

/**
 * The float32 input of a Sum or Mean call and its leading-axes plan, or null when the call is for
 * the backend's own kernel: a bare TensorInfo (as other kernels pass), another dtype, a small
 * tensor, or axes that are not leading.
 */
function leadingReduction(args: Parameters<tf.KernelFunc>[0], kernelName: string): { x: tf.Tensor; plan: LeadingSumPlan } | null {
  if (!(args.inputs.x instanceof tf.Tensor)) return null;
  const x = inputTensor(args.inputs, 'x', kernelName);
  const { axis } = args.attrs as unknown as tf.SumAttrs;
  const plan = x.dtype === 'float32' && x.size >= MIN_MATMUL_SUM_SIZE ? leadingAxesSumPlan(x.shape, axis) : null;
  return plan && { x, plan };
}

function sumByMatMul(native: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const reduction = leadingReduction(args, NAME);
    if (!reduction) return native(args);
    const { x, plan } = reduction;
    const { keepDims } = args.attrs as unknown as tf.SumAttrs;
    const k = plan.axes;
    const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
    return tf.tidy(() => {
      const pooled = x.rank === 4 && k === 3 ? sumOverImagesByPooling(x as tf.Tensor4D) : null;
      if (pooled) return tf.reshape(pooled, outShape);
      return tf.reshape(tf.matMul(tf.transpose(tf.reshape(x, [plan.rows, plan.cols])), tf.ones([plan.rows, 1])), outShape);
    });
  };
}

export const sumKernel = delegatingKernel(NAME, sumByMatMul);

/**
 * Mean over leading axes (batch norm's moments in training) as the Sum above divided by the count:
 * the wasm backend's Mean transposes first as its Sum does, and batch norm's means took a sizeable
 * part of an SRResNet step that way (measurements: docs/performance.md, "Kernel and engine
 * measurements").
 */
function meanBySum(native: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const reduction = leadingReduction(args, tf.Mean);
    if (!reduction) return native(args);
    const { axis, keepDims } = args.attrs as unknown as tf.MeanAttrs;
    return tf.tidy(() => tf.div(tf.sum(reduction.x, axis, keepDims), reduction.plan.rows));
  };
}

export const meanKernel = delegatingKernel(tf.Mean, meanBySum);
