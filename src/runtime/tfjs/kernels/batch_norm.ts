/**
 * Batch normalisation in training, fewer passes over the activations. A tfjs-layers BatchNormalization
 * layer in training computes tf.moments (Mean, Sub, Square, Mean) and feeds them to FusedBatchNorm;
 * in configs/srgan-x4-cpu.yaml's SRResNet (17 such layers on [16, 24, 24, 32]) that path was a
 * sizeable part of a training step on wasm (measurements: docs/performance.md, "Kernel and engine
 * measurements"):
 *  - wasm's FusedBatchNorm is slower than a broadcast subtract, multiply and add of the same values;
 *  - tfjs's FusedBatchNorm gradient makes eleven activation-sized tensors (a tile of the inverse
 *    standard deviation among them) for what needs three: x - mean, dy * scale / std and dy * (x - mean);
 *  - tfjs's Mean gradient multiplies dy by a tensor of ones the size of x and then divides it, three
 *    passes for one broadcast of dy / n (twice per layer: the mean and the variance).
 * The gradients are the same formulas (d/dmean = -sum(dy) * scale / std, d/dvariance =
 * -scale / (2 std^3) * sum(dy * (x - mean)), d/dscale = sum(dy * (x - mean)) / std, d/doffset =
 * sum(dy)); only the order of float32 roundings differs. The Mean gradient's values are identical.
 */
import * as tf from '@tensorflow/tfjs';
import { inputTensor } from './kernel_util';
import { delegatingKernel } from './registry';

/**
 * True when every per-channel input is a vector over x's last axis, the layer's case (the mean and
 * variance of tf.moments over all other axes). tfjs also accepts them at x's rank; those go to the
 * backend's kernel and tfjs's gradient.
 */
function perChannel(x: tf.Tensor, ...params: (tf.Tensor | undefined)[]): boolean {
  const channels = x.shape[x.rank - 1];
  return x.rank >= 2 && x.dtype === 'float32' && params.every((p) => p === undefined || (p.rank === 1 && p.shape[0] === channels));
}

export const fusedBatchNormKernel = delegatingKernel(tf.FusedBatchNorm, (previous) => (args) => {
  const { inputs, attrs } = args;
  const x = inputTensor(inputs, 'x', tf.FusedBatchNorm);
  const mean = inputTensor(inputs, 'mean', tf.FusedBatchNorm);
  const variance = inputTensor(inputs, 'variance', tf.FusedBatchNorm);
  const scale = inputs.scale === undefined ? undefined : inputTensor(inputs, 'scale', tf.FusedBatchNorm);
  const offset = inputs.offset === undefined ? undefined : inputTensor(inputs, 'offset', tf.FusedBatchNorm);
  if (!perChannel(x, mean, variance, scale, offset)) return previous(args);
  const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
  return tf.tidy(() => {
    // (x - mean) first, as tfjs does: x * k + (offset - mean * k) would lose digits where the mean is
    // large against the standard deviation.
    const inverseStd = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const normalised = tf.mul(tf.sub(x, mean), scale ? tf.mul(scale, inverseStd) : inverseStd);
    return offset ? tf.add(normalised, offset) : normalised;
  });
});

const tfjsBatchNormGrad = tf.getGradient(tf.FusedBatchNorm) as tf.GradConfig;

export const fusedBatchNormGradConfig: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as (tf.Tensor | undefined)[] as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const grad = dy as tf.Tensor;
    if (!perChannel(x, mean, variance, scale) || grad.dtype !== 'float32') return tfjsBatchNormGrad.gradFunc(dy, saved, attrs);
    const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
    const axes = x.shape.slice(0, -1).map((_, axis) => axis);
    // Shared by the closures; they live until the gradient computation's scope ends, as tfjs's do.
    const inverseStd = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const gain = scale ? tf.mul(scale, inverseStd) : inverseStd;
    const dySum = tf.sum(grad, axes);
    const dyCentredSum = tf.sum(tf.mul(grad, tf.sub(x, mean)), axes);
    return {
      x: () => tf.mul(grad, gain),
      mean: () => tf.neg(tf.mul(dySum, gain)),
      variance: () => tf.mul(tf.mul(dyCentredSum, gain), tf.mul(tf.square(inverseStd), -0.5)),
      scale: () => tf.mul(dyCentredSum, inverseStd),
      offset: () => tf.clone(dySum),
    };
  },
};

export const meanGradConfig: tf.GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam((attrs as unknown as tf.MeanAttrs).axis, x.shape);
    const kept = x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
    const count = axes.reduce((n, axis) => n * x.shape[axis], 1);
    // dy / n, then broadcast (a Tile, which is one broadcast multiply on wasm): the same values as
    // tfjs's (dy * ones) / n.
    return { x: () => tf.broadcastTo(tf.div(tf.reshape(dy as tf.Tensor, kept), count), x.shape) };
  },
};
