/** Pixel losses between a network's output and its target. */
import * as tf from '@tensorflow/tfjs';

export type PixelLoss = 'mse' | 'l1';

export function pixelLoss(kind: PixelLoss, output: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return kind === 'l1' ? tf.losses.absoluteDifference(target, output) : tf.losses.meanSquaredError(target, output);
}
