/**
 * PReLU's gradient without comparisons or selects. tfjs writes it as a `x > 0` mask and two `where`s
 * (plus a zeros tensor); on wasm the comparison against a broadcast 0 and the selects are generic
 * element loops, several times slower than the same values from unary ops and same-shape or
 * channel-broadcast arithmetic, and over all its PReLUs that difference is a noticeable part of
 * configs/srgan-x4-cpu.yaml's pre-training step (measurements: docs/performance.md, "Kernel and engine
 * measurements"). With
 * s = step(x) in {0, 1} (0 where x <= 0, as the mask) and min(x, 0) = x - relu(x):
 *   dx     = dy * (alpha + (1 - alpha) * s)       (dy where x > 0, alpha * dy elsewhere)
 *   dalpha = sum over the broadcast axes of dy * min(x, 0)
 * dalpha is the same sum of the same products; dx equals tfjs's except that alpha + (1 - alpha) can
 * round to one ulp below 1.
 */
import * as tf from '@tensorflow/tfjs';

export const preluGradConfig: tf.GradConfig = {
  kernelName: tf.Prelu,
  inputsToSave: ['x', 'alpha'],
  gradFunc: (dy, saved) => {
    const [x, alpha] = saved;
    const grad = dy as tf.Tensor;
    return {
      x: () => tf.tidy(() => grad.mul(alpha.add(tf.step(x).mul(tf.sub(1, alpha))))),
      alpha: () =>
        tf.tidy(() => {
          const products = grad.mul(x.sub(tf.relu(x)));
          const axes = tf.backend_util.getReductionAxes(alpha.shape, grad.shape);
          return (axes.length > 0 ? products.sum(axes) : products).reshape(alpha.shape);
        }),
    };
  },
};
