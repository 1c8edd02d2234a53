/**
 * BatchMatMul with transposed operands, rewritten so that the wasm backend's XNNPACK path, which is
 * only fast without transposes, does the work.
 *
 * A dense layer's gradients are dx = dy * W^T and dW = x^T * dy. On wasm (tfjs 4.22) these are many
 * times slower than the untransposed forward product (the SRGAN discriminator's 16 x 18432 -> 1024
 * layer). Materialising the transpose of a small operand and, where it is cheaper, computing the
 * transposed product, C = op(A) op(B) = (op(B)^T op(A)^T)^T, brings both to about the forward
 * product's time (measurements: docs/performance.md, "Kernel and engine measurements"). Untransposed
 * products go straight to the backend's own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { inputTensor } from './kernel_util';
import { delegatingKernel } from './registry';

const NAME = tf.BatchMatMul;

/** Transposes the last two axes. */
function swapInner(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, axis) => axis);
  const rank = perm.length;
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return tf.transpose(t, perm);
}

export type MatMulPlan = 'direct' | 'swapped';

/**
 * Counts the elements each rewrite transposes (transposes dominate: the products cost the same):
 * 'direct' materialises op(A) and op(B); 'swapped' materialises op(B)^T and op(A)^T (free for an operand
 * that was to be transposed anyway) and then transposes the result.
 */
export function matMulPlan(sizeA: number, sizeB: number, sizeOut: number, transposeA: boolean, transposeB: boolean): MatMulPlan {
  const direct = (transposeA ? sizeA : 0) + (transposeB ? sizeB : 0);
  const swapped = (transposeA ? 0 : sizeA) + (transposeB ? 0 : sizeB) + sizeOut;
  return swapped < direct ? 'swapped' : 'direct';
}

/** Size of op(A) op(B), batch dimensions broadcast. */
function outputSize(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): number {
  const rows = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2];
  const cols = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
  const batch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return batch.reduce((p, d) => p * d, 1) * rows * cols;
}

function transposeFreeBatchMatMul(native: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) return native(args);
    const a = inputTensor(args.inputs, 'a', NAME);
    const b = inputTensor(args.inputs, 'b', NAME);
    const plan = matMulPlan(a.size, b.size, outputSize(a, b, transposeA, transposeB), transposeA, transposeB);
    // The products below have no transposes, so they reach `native` through this same kernel.
    return tf.tidy(() => {
      if (plan === 'direct') return tf.matMul(transposeA ? swapInner(a) : a, transposeB ? swapInner(b) : b);
      return swapInner(tf.matMul(transposeB ? b : swapInner(b), transposeA ? a : swapInner(a)));
    });
  };
}

export const batchMatMulKernel = delegatingKernel(NAME, transposeFreeBatchMatMul);
