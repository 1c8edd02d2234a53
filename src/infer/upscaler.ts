/**
 * An Upscaler turns a low-resolution colour tensor into a high-resolution one. Interpolation,
 * SRCNN and SRGAN all look the same to `sr upscale` and `sr eval` through this interface.
 */
import * as tf from '@tensorflow/tfjs';

/** `--engine`: where a network runs. */
export const ENGINE_CHOICES = ['auto', 'tfjs', 'onnx'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/** Which engine runs an upscaler's network, and why when it is not the one asked for. */
export interface EngineInfo {
  requested: EngineChoice;
  active: 'tfjs' | 'onnx';
  /** One line for people: 'onnx (onnxruntime-node 1.30.0, CPU, 2 threads)', 'tfjs (wasm)'. */
  description: string;
  /** Fallbacks and the like, one line each. */
  notes: string[];
  /** ONNX engine: where the export is cached (null: in memory only) and whether it was built now. */
  export?: { path: string | null; rebuilt: boolean };
}

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
