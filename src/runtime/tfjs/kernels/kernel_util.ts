/**
 * Helpers shared by the kernels that are written with tf ops instead of backend-specific code.
 *
 * Such a kernel runs inside the engine's kernel scope: ops called there execute on the active backend
 * and are not recorded on the gradient tape. It returns a Tensor (the engine accepts a Tensor in place of
 * a TensorInfo, as tfjs-node's kernels do), created inside tf.tidy so that every intermediate is freed
 * and the result stays tracked exactly once.
 */
import * as tf from '@tensorflow/tfjs';
import { AxisPadding, ConvAxis, convAxes, splitPadding } from './conv_geometry';

/** A kernel's named input as a Tensor. Ops always pass Tensors; a bare TensorInfo would mean a caller we do not support. */
export function inputTensor(inputs: tf.NamedTensorInfoMap, name: string, kernelName: string): tf.Tensor {
  const info = inputs[name];
  if (!(info instanceof tf.Tensor)) {
    throw new Error(`${kernelName}: input '${name}' must be a tf.Tensor (call the kernel through its tf op)`);
  }
  return info;
}

export function as4D(t: tf.Tensor, kernelName: string): tf.Tensor4D {
  if (t.rank !== 4) throw new Error(`${kernelName}: expected a rank-4 tensor, got shape [${t.shape}]`);
  return t as tf.Tensor4D;
}

/** NCHW <-> NHWC; the kernels compute in NHWC, the only layout the wasm convolution accepts. */
export function nchwToNhwc(t: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(t, [0, 2, 3, 1]);
}

export function nhwcToNchw(t: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(t, [0, 3, 1, 2]);
}

export function shape4D(shape: number[], kernelName: string): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`${kernelName}: expected a 4-D shape, got [${shape}]`);
  return [shape[0], shape[1], shape[2], shape[3]];
}

/**
 * A stride-1 NHWC convolution with per-axis signed padding: negative amounts are sliced off the input
 * first, because explicit convolution padding cannot be negative. (tf.conv2d reaches the Conv2D
 * kernel of conv2d.ts, which runs it on ONNX Runtime when native convolutions are on.)
 */
export function paddedConv(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  rows: AxisPadding,
  cols: AxisPadding,
  dilations: [number, number],
): tf.Tensor4D {
  const r = splitPadding(rows);
  const c = splitPadding(cols);
  const [n, h, w, ch] = x.shape;
  const cropped =
    r.crop.before + r.crop.after + c.crop.before + c.crop.after === 0
      ? x
      : tf.slice(x, [0, r.crop.before, c.crop.before, 0], [n, h - r.crop.before - r.crop.after, w - c.crop.before - c.crop.after, ch]);
  const explicit: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [r.pad.before, r.pad.after],
    [c.pad.before, c.pad.after],
    [0, 0],
  ];
  return tf.conv2d(cropped, filter, 1, explicit, 'NHWC', dilations);
}

/** Attributes both convolution-gradient kernels receive from tfjs. */
export interface ConvGradientAttrs {
  strides: tf.Conv2DBackpropInputAttrs['strides'];
  pad: tf.Conv2DBackpropInputAttrs['pad'];
  dataFormat: tf.Conv2DBackpropInputAttrs['dataFormat'];
  dimRoundingMode?: tf.Conv2DBackpropInputAttrs['dimRoundingMode'];
}

/**
 * The axes of the forward convolution behind a gradient kernel, from the forward input and filter
 * shapes and dy (whose spatial sizes are taken as they are).
 */
export function gradientAxes(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: ConvGradientAttrs,
  dyShape: number[],
): { rows: ConvAxis; cols: ConvAxis; nchw: boolean } {
  const nchw = attrs.dataFormat === 'NCHW';
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    nchw ? 'channelsFirst' : 'channelsLast',
  );
  return { ...convAxes(info, nchw ? dyShape[2] : dyShape[1], nchw ? dyShape[3] : dyShape[2]), nchw };
}
