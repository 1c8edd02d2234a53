/**
 * RGB <-> YCbCr with the BT.601 constants MATLAB's rgb2ycbcr uses (studio swing: Y in [16, 235]).
 * Every published SR table scores the Y channel computed this way.
 * Values are [0, 1] floats on both sides (YCbCr divided by 255), last axis the channels.
 */
import * as tf from '@tensorflow/tfjs';

/** Rows: Y, Cb, Cr; columns: R, G, B (for R, G, B in [0, 1] and output in 0..255). */
const RGB_TO_YCBCR = [
  [65.481, 128.553, 24.966],
  [-37.797, -74.203, 112.0],
  [112.0, -93.786, -18.214],
];
const YCBCR_OFFSET = [16, 128, 128];

function invert3x3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

const YCBCR_TO_RGB = invert3x3(RGB_TO_YCBCR);

function applyColorMatrix(t: tf.Tensor, matrix: number[][], scaleIn: number, offsetIn: number[], scaleOut: number, offsetOut: number[]) {
  return tf.tidy(() => {
    const shape = t.shape;
    const flat = t.reshape([-1, 3]);
    // out = ((in * scaleIn - offsetIn) @ M^T) * scaleOut + offsetOut, folded into one matMul and add.
    const m = tf
      .tensor2d(matrix)
      .transpose()
      .mul(scaleIn * scaleOut);
    const bias = tf.tensor1d(offsetIn).mul(-scaleOut).reshape([1, 3]).matMul(tf.tensor2d(matrix).transpose()).add(tf.tensor1d(offsetOut));
    return flat.matMul(m).add(bias).reshape(shape);
  });
}

/** [..., 3] RGB in [0, 1] to [..., 3] YCbCr in [0, 1] (Y in [16/255, 235/255]). */
export function rgbToYcbcr(rgb: tf.Tensor): tf.Tensor {
  return applyColorMatrix(
    rgb,
    RGB_TO_YCBCR,
    1,
    [0, 0, 0],
    1 / 255,
    YCBCR_OFFSET.map((v) => v / 255),
  );
}

/** Inverse of rgbToYcbcr (not clipped). */
export function ycbcrToRgb(ycbcr: tf.Tensor): tf.Tensor {
  return applyColorMatrix(ycbcr, YCBCR_TO_RGB, 255, YCBCR_OFFSET, 1, [0, 0, 0]);
}

/** The Y channel alone, [..., 1]; a one-channel (gray) input is returned as it is, as MATLAB scripts do. */
export function luma(t: tf.Tensor): tf.Tensor {
  const channels = t.shape[t.rank - 1];
  if (channels === 1) return t.clone();
  if (channels !== 3) throw new Error(`luma expects 1 or 3 channels, got ${channels}`);
  return tf.tidy(() => {
    const w = tf.tensor2d(RGB_TO_YCBCR[0].map((v) => [v / 255]));
    const shape = [...t.shape.slice(0, -1), 1];
    return t
      .reshape([-1, 3])
      .matMul(w)
      .add(16 / 255)
      .reshape(shape);
  });
}
