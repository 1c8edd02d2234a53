/**
 * The SRGAN content loss: mean squared difference of VGG19 features of SR and HR (VGG54 by
 * default), with the features divided by 12.75 as in the paper so the loss is on the scale of a
 * pixel MSE; or the pixel MSE itself.
 */
import * as tf from '@tensorflow/tfjs';
import { vggPreprocess, type VGG_LAYERS } from '../models/vgg';

export const VGG_FEATURE_SCALE = 1 / 12.75;

export type ContentLoss = (sr: tf.Tensor4D, hr: tf.Tensor4D) => tf.Scalar;

export function vggContentLoss(features: tf.LayersModel): ContentLoss {
  return (sr, hr) =>
    tf.tidy(() => {
      const f = (x: tf.Tensor4D) => (features.apply(vggPreprocess(x), { training: false }) as tf.Tensor).mul(VGG_FEATURE_SCALE);
      // Only the generator's variables are differentiated, so VGG and the HR features stay fixed.
      return tf.losses.meanSquaredError(f(hr), f(sr)) as tf.Scalar;
    });
}

export function mseContentLoss(): ContentLoss {
  return (sr, hr) => tf.losses.meanSquaredError(hr, sr) as tf.Scalar;
}

/** Content losses by the name a config gives (`gan.content_loss`): VGG19 feature layers, or the pixel MSE. */
export type ContentLossName = keyof typeof VGG_LAYERS | 'mse';
export const CONTENT_LOSS_NAMES = ['vgg54', 'vgg22', 'mse'] as const satisfies readonly ContentLossName[];
