/**
 * An Upscaler turns a low-resolution colour tensor into a high-resolution one. Interpolation,
 * SRCNN and SRGAN all look the same to `sr upscale` and `sr eval` through this interface.
 */
import * as tf from '@tensorflow/tfjs';

export interface Upscaler {
  /** What to print: 'bicubic', 'srcnn-x3', a checkpoint path... */
  readonly name: string;
  readonly scale: number;
  /**
   * [H, W, C] in [0, 1] with C = 1 (gray) or 3 (RGB) to [H*scale, W*scale, C]. The result is not
   * clipped or rounded; the caller owns it.
   */
  upscale(lr: tf.Tensor3D): Promise<tf.Tensor3D>;
  dispose(): void;
}
