/**
 * Conv2DBackpropFilter (the gradient of conv2d with respect to its filter) as a forward convolution.
 *
 * The wasm backend has no such kernel at all, so no conv layer could train there (and the cpu
 * backend's is far slower than this; docs/performance.md, "Kernel and engine measurements"). The sum
 * dw[i, j, ci, co] = sum over (n, oh, ow) of x[n, oh*s + i - top, ow*s + j - left, ci] * dy[n, oh, ow, co]
 * is a stride-1 convolution over the spatial axes of x and dy in which the batch axis plays the part of
 * the channels summed over; XNNPACK runs it as a matrix product whose columns are one of the filter's
 * channel axes.
 */
import * as tf from '@tensorflow/tfjs';
import { replacingKernel } from './registry';
import { ConvAxis, filterGradPadding, reversedFilterGradPadding } from './conv_geometry';
import { as4D, gradientAxes, inputTensor, nchwToNhwc, paddedConv } from './kernel_util';
import { nativeConvFilterGrad } from './native_conv';

const NAME = tf.Conv2DBackpropFilter;

/**
 * x with its channels moved to the batch axis ([ci, h, w, n]) convolved by dy with its batch moved to the
 * input-channel axis ([oh, ow, n, co]) as the filter; the forward stride becomes that filter's dilation
 * (tfjs rejects stride > 1 together with dilation > 1, and needs neither here). Gives [ci, kh, kw, co].
 * Any stride; the product has `co` columns.
 */
function filterGradXAsInput(x: tf.Tensor4D, dy: tf.Tensor4D, rows: ConvAxis, cols: ConvAxis): tf.Tensor4D {
  const dw = paddedConv(tf.transpose(x, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), filterGradPadding(rows), filterGradPadding(cols), [
    rows.stride,
    cols.stride,
  ]);
  return tf.transpose(dw, [1, 2, 0, 3]);
}

/**
 * The roles swapped, for stride 1 only (a stride would need dy upsampled with zeros): dy ([co, oh, ow, n])
 * convolved by x ([h, w, n, ci]), giving [co, kh, kw, ci] reversed in space. The product has `ci` columns.
 */
function filterGradDyAsInput(x: tf.Tensor4D, dy: tf.Tensor4D, rows: ConvAxis, cols: ConvAxis): tf.Tensor4D {
  const dwReversed = paddedConv(
    tf.transpose(dy, [3, 1, 2, 0]),
    tf.transpose(x, [1, 2, 0, 3]),
    reversedFilterGradPadding(rows),
    reversedFilterGradPadding(cols),
    [1, 1],
  );
  return tf.transpose(tf.reverse(dwReversed, [1, 2]), [1, 2, 3, 0]);
}

/**
 * On wasm, with 1-3 output channels (the RGB or luminance reconstruction layers) most of each XNNPACK
 * tile is empty in the x-as-input product, and dy-as-input is faster; from 4 output channels on it is
 * equal or slower, since x then has to be packed as the filter (measurements: docs/performance.md,
 * "Kernel and engine measurements").
 */
const MAX_NARROW_OUT_CHANNELS = 3;

export type FilterGradOrientation = 'x-as-input' | 'dy-as-input';

export function chooseOrientation(inChannels: number, outChannels: number, rows: ConvAxis, cols: ConvAxis): FilterGradOrientation {
  const strideOne = rows.stride === 1 && cols.stride === 1;
  const narrow = outChannels <= MAX_NARROW_OUT_CHANNELS && outChannels < inChannels;
  return strideOne && narrow ? 'dy-as-input' : 'x-as-input';
}

/**
 * dw for an NHWC forward convolution described by `rows`/`cols`. With native convolutions on it is
 * computed on ONNX Runtime as matrix products (native_conv.ts; native_models.ts says how), faster than
 * the convolutions above. Those convolutions remain the way when native ones are off; ONNX Runtime's
 * own convolution would run them slowly (a filter as large as the image: SRCNN's 5x5 64->32 gradient
 * on [16,33,33,64] is slower there than on wasm). Measurements: docs/performance.md, "Kernel and
 * engine measurements".
 */
export function filterGradientNHWC(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  rows: ConvAxis,
  cols: ConvAxis,
  orientation = chooseOrientation(x.shape[3], dy.shape[3], rows, cols),
): tf.Tensor4D {
  const native = nativeConvFilterGrad(x, dy, [rows.filterSize, cols.filterSize], [rows.stride, cols.stride], {
    top: rows.padBefore,
    left: cols.padBefore,
  });
  if (native) return native;
  return orientation === 'dy-as-input' ? filterGradDyAsInput(x, dy, rows, cols) : filterGradXAsInput(x, dy, rows, cols);
}

function conv2dBackpropFilter({ inputs, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const x = as4D(inputTensor(inputs, 'x', NAME), NAME);
  const dy = as4D(inputTensor(inputs, 'dy', NAME), NAME);
  const { rows, cols, nchw } = gradientAxes(x.shape, filterShape, { strides, pad, dataFormat, dimRoundingMode }, dy.shape);
  return tf.tidy(() => (nchw ? filterGradientNHWC(nchwToNhwc(x), nchwToNhwc(dy), rows, cols) : filterGradientNHWC(x, dy, rows, cols)));
}

export const conv2dBackpropFilterKernel = replacingKernel(NAME, conv2dBackpropFilter as tf.KernelFunc);
