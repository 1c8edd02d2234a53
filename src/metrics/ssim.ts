/**
 * Structural similarity as in Wang et al.'s reference implementation that the SR tables use:
 * an 11x11 Gaussian window with sigma 1.5, 'valid' filtering (no padding), K1 = 0.01, K2 = 0.03,
 * dynamic range 255, and the mean of the SSIM map. Multi-channel input: the mean over channels.
 */
import * as tf from '@tensorflow/tfjs';

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;

export function gaussianWindow(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float32Array {
  const half = (size - 1) / 2;
  const g: number[] = [];
  for (let i = 0; i < size; i++) g.push(Math.exp(-((i - half) ** 2) / (2 * sigma * sigma)));
  const out = new Float32Array(size * size);
  let sum = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) sum += out[y * size + x] = g[y] * g[x];
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** `a` and `b` are [N, H, W, C] in 0..range; returns N SSIM values. */
export function ssimBatch(a: tf.Tensor4D, b: tf.Tensor4D, range = 255): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, h, w, c] = a.shape;
    if (h < SSIM_WINDOW || w < SSIM_WINDOW) throw new Error(`SSIM needs at least ${SSIM_WINDOW}x${SSIM_WINDOW} pixels, got ${w}x${h}`);
    const c1 = (0.01 * range) ** 2;
    const c2 = (0.03 * range) ** 2;
    // Channels into the batch axis so one single-channel filter serves them all.
    const planes = (t: tf.Tensor4D) => t.transpose([0, 3, 1, 2]).reshape([n * c, h, w, 1]) as tf.Tensor4D;
    const window = tf.tensor4d(gaussianWindow(), [SSIM_WINDOW, SSIM_WINDOW, 1, 1]);
    const filter = (t: tf.Tensor4D) => tf.conv2d(t, window, 1, 'valid');
    // Second moments are taken about mid-range: variance and covariance do not change, and float32
    // keeps far more of their digits than with E[x^2] - mu^2 on raw 0..255 values.
    const mid = range / 2;
    const x = planes(a).sub(mid) as tf.Tensor4D;
    const y = planes(b).sub(mid) as tf.Tensor4D;
    const muX = filter(x);
    const muY = filter(y);
    const varX = filter(x.square() as tf.Tensor4D).sub(muX.square());
    const varY = filter(y.square() as tf.Tensor4D).sub(muY.square());
    const cov = filter(x.mul(y) as tf.Tensor4D).sub(muX.mul(muY));
    const mx = muX.add(mid);
    const my = muY.add(mid);
    const numerator = mx.mul(my).mul(2).add(c1).mul(cov.mul(2).add(c2));
    const denominator = mx.square().add(my.square()).add(c1).mul(varX.add(varY).add(c2));
    const map = numerator.div(denominator); // [n*c, h', w', 1]
    return map.reshape([n, c, -1]).mean([1, 2]) as tf.Tensor1D;
  });
}
