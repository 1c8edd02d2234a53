/**
 * Finding an Upscaler by name: an interpolation kernel, a model with shipped weights, or a
 * checkpoint folder. Also the whole-image path used by `sr upscale` (alpha and gray handled here).
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors';
import { imresize, RESIZE_KERNELS } from '../image/resize';
import type { Image } from '../image/io';
import { splitImage, tensorsToImage } from '../image/tensor';
import { interpolationUpscaler, isInterpolation } from './interpolation';
import type { Upscaler } from './upscaler';

export type { Upscaler } from './upscaler';
export { interpolationUpscaler, isInterpolation } from './interpolation';

export interface UpscalerRequest {
  model: string;
  scale: number;
}

export const SUPPORTED_SCALES = [2, 3, 4];

export function checkScale(scale: number): void {
  if (!SUPPORTED_SCALES.includes(scale)) {
    throw new UsageError(`unsupported scale ${scale} (choose one of ${SUPPORTED_SCALES.join(', ')})`);
  }
}

export async function loadUpscaler(request: UpscalerRequest): Promise<Upscaler> {
  checkScale(request.scale);
  if (isInterpolation(request.model)) return interpolationUpscaler(request.model, request.scale);
  throw new UsageError(`unknown model '${request.model}' (choose one of ${RESIZE_KERNELS.join(', ')})`);
}

/**
 * Upscales a whole decoded image: colour through the upscaler, alpha (if any) by bicubic,
 * gray stays gray, bit depth is kept.
 */
export async function upscaleImage(image: Image, upscaler: Upscaler): Promise<Image> {
  const { color, alpha, bitDepth } = splitImage(image);
  try {
    const sr = await upscaler.upscale(color);
    const alphaSr = alpha ? (tf.tidy(() => tf.clipByValue(imresize(alpha, upscaler.scale), 0, 1)) as tf.Tensor3D) : undefined;
    try {
      return await tensorsToImage(sr, alphaSr, bitDepth);
    } finally {
      tf.dispose([sr, alphaSr].filter((t): t is tf.Tensor3D => t !== undefined));
    }
  } finally {
    tf.dispose([color, alpha].filter((t): t is tf.Tensor3D => t !== undefined));
  }
}
