/**
 * Conv2D on ONNX Runtime when native convolutions are on (native_conv.ts). Otherwise, with a single
 * input channel (SRCNN's first layer on luminance), the filter's columns are moved into the channel
 * axis so that XNNPACK has more than one channel to work with.
 *
 * XNNPACK's convolution reads the input through an indirection buffer, one pointer per filter tap and
 * output pixel, each pointing at `inChannels` contiguous values; with one channel every tap is a
 * pointer for a single multiply, and a 9x9 1->64 convolution runs far below the speed of the wider
 * layers. Shifting the input by each filter column first (a depthwise convolution with a one-hot
 * filter, cheap: [n, h, outW, kw] values) turns it into a kh x 1 convolution with kw channels:
 * y[n, oh, ow, co] = sum_{i,j} s[n, oh + i - top, ow, j] w[i, j, 0, co], with
 * s[n, r, c, j] = x[n, r, c + j - left, 0]. The same multiply-adds, kw at a time.
 * Other convolutions (and strides or dilations other than 1) go to the backend's own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { as4D, inputTensor } from './kernel_util';
import { nativeConv2dFromAttrs } from './native_conv';
import { delegatingKernel } from './registry';

const NAME = tf.Conv2D;

function isOne(v: number | [number, number] | undefined): boolean {
  return v === undefined || (Array.isArray(v) ? v[0] === 1 && v[1] === 1 : v === 1);
}

/** Whether `conv2dByColumns` applies: NHWC, one input channel, a filter wider than one column, unit strides and dilations. */
export function singleChannelApplies(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: Pick<tf.Conv2DAttrs, 'strides' | 'dilations' | 'dataFormat'>,
): boolean {
  return (
    xShape.length === 4 &&
    attrs.dataFormat !== 'NCHW' &&
    xShape[3] === 1 &&
    filterShape[2] === 1 &&
    filterShape[1] > 1 &&
    isOne(attrs.strides) &&
    isOne(attrs.dilations)
  );
}

/** The one-hot depthwise filter [1, kw, 1, kw] whose output channel j is the input shifted by j columns. */
function columnShiftFilter(kw: number): tf.Tensor4D {
  const data = new Float32Array(kw * kw);
  for (let j = 0; j < kw; j++) data[j * kw + j] = 1;
  return tf.tensor4d(data, [1, kw, 1, kw]);
}

/** conv2d(x, filter) for a single-channel NHWC x, stride 1, dilation 1, kw > 1. */
export function conv2dByColumns(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  pad: tf.Conv2DAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  const [kh, kw, , co] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, 1, 1, pad, dimRoundingMode);
  const { top, bottom, left, right } = info.padInfo;
  const shifted = tf.depthwiseConv2d(x, columnShiftFilter(kw), 1, [
    [0, 0],
    [0, 0],
    [left, right],
    [0, 0],
  ]);
  // [kh, kw, 1, co] and [kh, 1, kw, co] have the same memory order.
  return tf.conv2d(shifted, tf.reshape(filter, [kh, 1, kw, co]), 1, [
    [0, 0],
    [top, bottom],
    [0, 0],
    [0, 0],
  ]);
}

function conv2dNativeOrSingleChannelFirst(backendOwn: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as tf.Conv2DAttrs;
    const { x: xInfo, filter: filterInfo } = args.inputs;
    // Kernels that call Conv2D with bare TensorInfos get the backend's own kernel, which accepts them.
    if (!(xInfo instanceof tf.Tensor) || !(filterInfo instanceof tf.Tensor) || xInfo.dtype !== 'float32') return backendOwn(args);
    const x = as4D(inputTensor(args.inputs, 'x', NAME), NAME);
    const filter = as4D(inputTensor(args.inputs, 'filter', NAME), NAME);
    const native = nativeConv2dFromAttrs(x, filter, attrs);
    if (native) return native;
    if (!singleChannelApplies(xInfo.shape, filterInfo.shape, attrs)) return backendOwn(args);
    return tf.tidy(() => conv2dByColumns(x, filter, attrs.pad, attrs.dimRoundingMode));
  };
}

export const conv2dKernel = delegatingKernel(NAME, conv2dNativeOrSingleChannelFirst);
