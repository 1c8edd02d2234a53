/**
 * DepthToSpace as reshape + transpose, and its gradient (space-to-depth, the same permutation inverted).
 *
 * The wasm backend's kernel is a generic loop, far slower than the transpose it amounts to
 * (measurements: docs/performance.md, "Kernel and engine measurements"). tfjs registers no gradient
 * for DepthToSpace on any backend, so the pixel-shuffle upsampler of SRResNet could not train at all.
 *
 * Ordering (TensorFlow's "DCR"), NHWC: out[b, h*bs + i, w*bs + j, c] = in[b, h, w, (i*bs + j)*C + c],
 * i.e. the input depth splits as [bs (row offset), bs (column offset), C].
 */
import * as tf from '@tensorflow/tfjs';
import { replacingKernel } from './registry';
import { inputTensor, as4D } from './kernel_util';

const NAME = tf.DepthToSpace;

type DataFormat = 'NHWC' | 'NCHW';

/**
 * NHWC depth-to-space with separate row and column block sizes:
 * [n, h, w, bh*bw*c] -> [n, h*bh, w*bw, c], depth split as [bh, bw, c]. Also used to interleave the
 * phases of the strided input gradient (conv2d_backprop_input.ts).
 */
export function interleaveBlocks(x: tf.Tensor4D, blockRows: number, blockCols: number): tf.Tensor4D {
  if (blockRows === 1 && blockCols === 1) return x;
  const [n, h, w, depth] = x.shape;
  const c = depth / (blockRows * blockCols);
  const split = tf.reshape(x, [n, h, w, blockRows, blockCols, c]);
  return tf.reshape(tf.transpose(split, [0, 1, 3, 2, 4, 5]), [n, h * blockRows, w * blockCols, c]);
}

export function depthToSpaceByTranspose(x: tf.Tensor4D, blockSize: number, dataFormat: DataFormat): tf.Tensor4D {
  const bs = blockSize;
  if (dataFormat === 'NHWC') return interleaveBlocks(x, bs, bs);
  const [n, depth, h, w] = x.shape;
  const c = depth / (bs * bs);
  const split = tf.reshape(x, [n, bs, bs, c, h, w]);
  return tf.reshape(tf.transpose(split, [0, 3, 4, 1, 5, 2]), [n, c, h * bs, w * bs]);
}

/** The inverse permutation of depthToSpaceByTranspose. */
export function spaceToDepthByTranspose(y: tf.Tensor4D, blockSize: number, dataFormat: DataFormat): tf.Tensor4D {
  const bs = blockSize;
  if (dataFormat === 'NHWC') {
    const [n, hb, wb, c] = y.shape;
    const split = tf.reshape(y, [n, hb / bs, bs, wb / bs, bs, c]);
    return tf.reshape(tf.transpose(split, [0, 1, 3, 2, 4, 5]), [n, hb / bs, wb / bs, bs * bs * c]);
  }
  const [n, c, hb, wb] = y.shape;
  const split = tf.reshape(y, [n, c, hb / bs, bs, wb / bs, bs]);
  return tf.reshape(tf.transpose(split, [0, 3, 5, 1, 2, 4]), [n, bs * bs * c, hb / bs, wb / bs]);
}

function depthToSpace({ inputs, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { blockSize, dataFormat } = attrs as unknown as tf.DepthToSpaceAttrs;
  const x = as4D(inputTensor(inputs, 'x', NAME), NAME);
  return tf.tidy(() => depthToSpaceByTranspose(x, blockSize, dataFormat));
}

export const depthToSpaceKernel = replacingKernel(NAME, depthToSpace as tf.KernelFunc);

/** Backend-independent: dx is dy rearranged back into depth. */
export const depthToSpaceGradConfig: tf.GradConfig = {
  kernelName: NAME,
  gradFunc: (dy, _saved, attrs) => {
    const { blockSize, dataFormat } = attrs as unknown as tf.DepthToSpaceAttrs;
    return { x: () => spaceToDepthByTranspose(dy as tf.Tensor4D, blockSize, dataFormat) };
  },
};
