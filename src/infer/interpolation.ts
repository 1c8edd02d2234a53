/** Classic interpolation as an Upscaler: the baselines of every SR table. */
import * as tf from '@tensorflow/tfjs';
import { imresize, RESIZE_KERNELS, type ResizeKernel } from '../image/resize';
import type { Upscaler } from './upscaler';

export function isInterpolation(name: string): name is ResizeKernel {
  return (RESIZE_KERNELS as string[]).includes(name);
}

export function interpolationUpscaler(kernel: ResizeKernel, scale: number): Upscaler {
  return {
    name: kernel,
    scale,
    async upscale(lr: tf.Tensor3D) {
      return imresize(lr, scale, { kernel });
    },
    dispose() {},
  };
}
