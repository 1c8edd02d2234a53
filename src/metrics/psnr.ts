/** Peak signal-to-noise ratio on 8-bit-range values, per image of a batch. */
import * as tf from '@tensorflow/tfjs';

/** `a` and `b` are [N, H, W, C] with values in 0..peak; returns N values in dB (Infinity when equal). */
export function psnrBatch(a: tf.Tensor4D, b: tf.Tensor4D, peak = 255): tf.Tensor1D {
  return tf.tidy(() => {
    const mse = tf.squaredDifference(a, b).mean([1, 2, 3]);
    return tf
      .scalar(10)
      .mul(tf.log(tf.scalar(peak * peak).div(mse)))
      .div(Math.LN10) as tf.Tensor1D;
  });
}
