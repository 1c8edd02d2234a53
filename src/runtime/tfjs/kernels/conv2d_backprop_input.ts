/**
 * Conv2DBackpropInput (the gradient of conv2d with respect to its input) as a forward convolution.
 *
 * The wasm backend's own kernel is a slow generic loop; its forward Conv2D goes through XNNPACK and is
 * far faster (measurements: docs/performance.md, "Kernel and engine measurements"). The input
 * gradient is a stride-1 convolution of dy with the spatially flipped filter whose in/out channels
 * are swapped; for stride s > 1 it is split into s*s phases computed by one convolution and
 * interleaved (see `polyphaseAxis` in conv_geometry.ts), which avoids multiplying the zeros of an
 * upsampled dy.
 *
 * The rearranged filter is built on the JS side: filters are small, and the wasm backend's Reverse and
 * Gather kernels (the alternatives) are slower than this copy.
 */
import * as tf from '@tensorflow/tfjs';
import { replacingKernel } from './registry';
import { ConvAxis, PolyphaseAxis, polyphaseAxis, polyphaseFilterIndex } from './conv_geometry';
import { interleaveBlocks } from './depth_to_space';
import { as4D, gradientAxes, inputTensor, nchwToNhwc, nhwcToNchw, paddedConv, shape4D } from './kernel_util';
import { nativeConvInputGrad } from './native_conv';

const NAME = tf.Conv2DBackpropInput;

/** For each phase and tap of one axis, the forward filter index it reads (-1: none). */
function filterIndexTable(axis: ConvAxis, poly: PolyphaseAxis): number[][] {
  return Array.from({ length: poly.phases }, (_, phase) =>
    Array.from({ length: poly.taps }, (_, tap) => polyphaseFilterIndex(axis, poly, phase, tap)),
  );
}

/**
 * The filter of the polyphase convolution: [tapsH, tapsW, outChannels, phasesH*phasesW*inChannels] from
 * the forward [kh, kw, inChannels, outChannels] filter, with output channel (ph*phasesW + pw)*inChannels + c
 * so that `interleaveBlocks` puts phase (ph, pw) at row offset ph, column offset pw.
 */
export function polyphaseFilter(
  w: Float32Array,
  shape: [number, number, number, number],
  rows: ConvAxis,
  cols: ConvAxis,
): { data: Float32Array; shape: [number, number, number, number] } {
  const [, kw, ci, co] = shape;
  const pr = polyphaseAxis(rows);
  const pc = polyphaseAxis(cols);
  const rowIndex = filterIndexTable(rows, pr);
  const colIndex = filterIndexTable(cols, pc);
  const outChannels = pr.phases * pc.phases * ci;
  const data = new Float32Array(pr.taps * pc.taps * co * outChannels);
  for (let th = 0; th < pr.taps; th++) {
    for (let tw = 0; tw < pc.taps; tw++) {
      for (let ph = 0; ph < pr.phases; ph++) {
        for (let pw = 0; pw < pc.phases; pw++) {
          const jh = rowIndex[ph][th];
          const jw = colIndex[pw][tw];
          if (jh < 0 || jw < 0) continue;
          const src = (jh * kw + jw) * ci * co;
          const dst = (th * pc.taps + tw) * co * outChannels + (ph * pc.phases + pw) * ci;
          for (let c = 0; c < ci; c++) {
            for (let o = 0; o < co; o++) data[dst + o * outChannels + c] = w[src + c * co + o];
          }
        }
      }
    }
  }
  return { data, shape: [pr.taps, pc.taps, co, outChannels] };
}

function filterValues(filter: tf.Tensor4D): Float32Array {
  if (filter.dtype !== 'float32') throw new Error(`${NAME}: filter must be float32, got ${filter.dtype}`);
  return filter.dataSync() as Float32Array;
}

/**
 * dx for an NHWC forward convolution described by `rows`/`cols`: a ConvTranspose on ONNX Runtime where
 * that is faster (native_conv.ts), else the polyphase convolution (itself native when native
 * convolutions are on).
 */
export function inputGradientNHWC(dy: tf.Tensor4D, filter: tf.Tensor4D, rows: ConvAxis, cols: ConvAxis): tf.Tensor4D {
  const native = nativeConvInputGrad(dy, filter, rows, cols);
  if (native) return native;
  const pr = polyphaseAxis(rows);
  const pc = polyphaseAxis(cols);
  const poly = polyphaseFilter(filterValues(filter), filter.shape, rows, cols);
  const phases = paddedConv(dy, tf.tensor4d(poly.data, poly.shape), pr.padding, pc.padding, [1, 1]);
  const dx = interleaveBlocks(phases, pr.phases, pc.phases);
  const [n, h, w, c] = dx.shape;
  // Interleaving yields whole blocks; the input's last block may have been partial.
  return h === rows.inSize && w === cols.inSize ? dx : tf.slice(dx, [0, 0, 0, 0], [n, rows.inSize, cols.inSize, c]);
}

function conv2dBackpropInput({ inputs, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const dy = as4D(inputTensor(inputs, 'dy', NAME), NAME);
  const filter = as4D(inputTensor(inputs, 'filter', NAME), NAME);
  const { rows, cols, nchw } = gradientAxes(
    shape4D(inputShape, NAME),
    filter.shape,
    { strides, pad, dataFormat, dimRoundingMode },
    dy.shape,
  );
  return tf.tidy(() => {
    if (!nchw) return inputGradientNHWC(dy, filter, rows, cols);
    return nhwcToNchw(inputGradientNHWC(nchwToNhwc(dy), filter, rows, cols));
  });
}

export const conv2dBackpropInputKernel = replacingKernel(NAME, conv2dBackpropInput as tf.KernelFunc);
