/**
 * An Upscaler turns a low-resolution colour tensor into a high-resolution one. Interpolation,
 * SRCNN and SRGAN all look the same to `sr upscale` and `sr eval` through this interface.
 */
import type * as tf from '@tensorflow/tfjs';
import type { EngineInfo } from '../engines/network';

export { ENGINE_CHOICES, type EngineChoice, type EngineInfo } from '../engines/network';

export interface Upscaler {
  /** What to print: 'bicubic', 'srcnn-x3', a checkpoint path... */
  readonly name: string;
  readonly scale: number;
  /** Where the work runs (absent for upscalers made outside loadUpscaler). */
  readonly engine?: EngineInfo;
  /**
   * Working memory (bytes) one LR pixel costs when upscaled in one piece, an estimate that
   * automatic tiling divides its memory budget by; absent: a few float maps at output size.
   */
  readonly bytesPerPixel?: number;
  /**
   * [H, W, C] in [0, 1] with C = 1 (gray) or 3 (RGB) to [H*scale, W*scale, C]. The result is not
   * clipped or rounded; the caller owns it.
   */
  upscale(lr: tf.Tensor3D): Promise<tf.Tensor3D>;
  dispose(): void;
}
