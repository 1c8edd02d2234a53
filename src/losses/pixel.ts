/** Pixel losses between a network's output and its target, by the name a config gives (`train.loss`). */
import * as tf from '@tensorflow/tfjs';

export const PIXEL_LOSSES = {
  mse: (output: tf.Tensor, target: tf.Tensor) => tf.losses.meanSquaredError(target, output) as tf.Scalar,
  l1: (output: tf.Tensor, target: tf.Tensor) => tf.losses.absoluteDifference(target, output) as tf.Scalar,
} as const;

export type PixelLoss = keyof typeof PIXEL_LOSSES;
export const PIXEL_LOSS_NAMES = Object.keys(PIXEL_LOSSES) as [PixelLoss, ...PixelLoss[]];

export function pixelLoss(kind: PixelLoss, output: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return PIXEL_LOSSES[kind](output, target);
}
