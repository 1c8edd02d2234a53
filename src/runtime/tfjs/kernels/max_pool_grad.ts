/**
 * MaxPoolGrad for backends whose own kernel is wrong.
 *
 * The wasm backend's MaxPoolGrad (tfjs 4.22) behaves as if each window's running maximum started at
 * FLT_MIN, the smallest positive float, instead of -infinity: a window of negative values sends its
 * gradient to the first element instead of the largest ([-4,-3,-2,-1] -> element 0), and ties go to the
 * last maximum where TensorFlow and the cpu backend pick the first. (Its MaxPoolWithArgmax returns
 * FLT_MIN as the maximum of negative windows; nothing here uses it.) The generator's gradient in SRGAN
 * flows back through VGG's max pools, so this kernel routes dy to the first maximum of each window, as
 * TensorFlow does (NaN never counts as a maximum; a window without a maximum passes no gradient).
 *
 * It runs in JS over the downloaded values: one pass over the windows, all channels of a pixel at a
 * time since they are contiguous in NHWC.
 */
import * as tf from '@tensorflow/tfjs';
import { replacingKernel } from './registry';
import { as4D, inputTensor } from './kernel_util';

const NAME = tf.MaxPoolGrad;

/** The fields of tfjs's Conv2DInfo (as computePool2DInfo returns it) that the pooling gradient needs. */
export interface PoolGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  filterHeight: number;
  filterWidth: number;
  padInfo: { top: number; left: number };
}

/** dx of an NHWC max pool: each dy value added to the first maximum of its window in x. */
export function maxPoolGradValues(x: Float32Array, dy: Float32Array, g: PoolGeometry): Float32Array {
  // Geometry copied to locals: the loops below run once per input element and window tap.
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = g;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = g;
  const { top, left } = g.padInfo;
  const dx = new Float32Array(batchSize * inHeight * inWidth * channels);
  const best = new Float64Array(channels);
  const argBest = new Int32Array(channels);
  let dyIndex = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        best.fill(-Infinity);
        argBest.fill(-1);
        for (let fy = 0; fy < filterHeight; fy++) {
          const y = oh * strideHeight - top + fy * dilationHeight;
          if (y < 0 || y >= inHeight) continue;
          for (let fx = 0; fx < filterWidth; fx++) {
            const col = ow * strideWidth - left + fx * dilationWidth;
            if (col < 0 || col >= inWidth) continue;
            const base = ((b * inHeight + y) * inWidth + col) * channels;
            for (let c = 0; c < channels; c++) {
              const v = x[base + c];
              // Strictly greater: the first of equal maxima wins, and NaN never does.
              if (v > best[c]) {
                best[c] = v;
                argBest[c] = base + c;
              }
            }
          }
        }
        for (let c = 0; c < channels; c++, dyIndex++) {
          if (argBest[c] >= 0) dx[argBest[c]] += dy[dyIndex];
        }
      }
    }
  }
  return dx;
}

function float32Values(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`${NAME}: expected float32, got ${t.dtype}`);
  return t.dataSync() as Float32Array;
}

function maxPoolGrad({ inputs, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const x = as4D(inputTensor(inputs, 'input', NAME), NAME);
  const dy = as4D(inputTensor(inputs, 'dy', NAME), NAME);
  const geometry = tf.backend_util.computePool2DInfo(x.shape, filterSize, strides, 1, pad, dimRoundingMode);
  if (!tf.util.arraysEqual(dy.shape, geometry.outShape)) {
    throw new Error(`${NAME}: dy has shape [${dy.shape}], the pool produces [${geometry.outShape}]`);
  }
  return tf.tensor4d(maxPoolGradValues(float32Values(x), float32Values(dy), geometry), x.shape, 'float32');
}

export const maxPoolGradKernel = replacingKernel(NAME, maxPoolGrad as tf.KernelFunc);
