/**
 * Scoring a super-resolved image against its ground truth the way published tables do:
 * both rounded to 8 bits, converted to the Y channel of BT.601 YCbCr (itself rounded to 8 bits, as
 * MATLAB's rgb2ycbcr does for uint8 images) or kept RGB, `border`
 * pixels cropped from each side, then PSNR and SSIM.
 */
import * as tf from '@tensorflow/tfjs';
import { luma } from '../image/color';
import { quantizeUnit } from '../image/tensor';
import { psnrBatch } from './psnr';
import { ssimBatch } from './ssim';

export { psnrBatch } from './psnr';
export { ssimBatch, gaussianWindow } from './ssim';

export type MetricChannel = 'y' | 'rgb';
export const METRIC_CHANNELS: MetricChannel[] = ['y', 'rgb'];

export interface ScoreOptions {
  /** Pixels cropped from each border (the scale factor, by convention). */
  border: number;
  channel?: MetricChannel;
}

export interface Score {
  psnr: number;
  ssim: number;
}

/** [H, W, C] or [N, H, W, C] in [0, 1] to [N, H', W', C'] in 0..255, ready to score. */
export function prepareForScoring(t: tf.Tensor3D | tf.Tensor4D, options: ScoreOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const batch = (t.rank === 3 ? t.expandDims(0) : t) as tf.Tensor4D;
    const rounded = quantizeUnit(batch, 8);
    // MATLAB's rgb2ycbcr on a uint8 image returns uint8, so the tables score a rounded Y; a gray
    // image is its own Y.
    const selected = (options.channel ?? 'y') === 'y' ? quantizeUnit(luma(rounded), 8) : rounded;
    const [n, h, w, c] = selected.shape;
    const b = options.border;
    if (h <= 2 * b || w <= 2 * b) throw new Error(`image of ${w}x${h} is too small for a border of ${b}`);
    return selected.slice([0, b, b, 0], [n, h - 2 * b, w - 2 * b, c]).mul(255) as tf.Tensor4D;
  });
}

/** Scores each image of a batch (or one image); `sr` and `hr` must have the same shape. */
export async function scoreBatch(sr: tf.Tensor3D | tf.Tensor4D, hr: tf.Tensor3D | tf.Tensor4D, options: ScoreOptions): Promise<Score[]> {
  if (sr.shape.join('x') !== hr.shape.join('x')) {
    throw new Error(`cannot score images of different shapes: ${sr.shape.join('x')} vs ${hr.shape.join('x')}`);
  }
  const [psnr, ssim] = tf.tidy(() => {
    const a = prepareForScoring(sr, options);
    const b = prepareForScoring(hr, options);
    return [psnrBatch(a, b), ssimBatch(a, b)];
  });
  const [p, s] = await Promise.all([psnr.data(), ssim.data()]);
  psnr.dispose();
  ssim.dispose();
  return Array.from(p, (v, i) => ({ psnr: v, ssim: s[i] }));
}

export async function score(sr: tf.Tensor3D, hr: tf.Tensor3D, options: ScoreOptions): Promise<Score> {
  return (await scoreBatch(sr, hr, options))[0];
}

export function meanScore(scores: Score[]): Score {
  const n = Math.max(1, scores.length);
  return {
    psnr: scores.reduce((s, x) => s + x.psnr, 0) / n,
    ssim: scores.reduce((s, x) => s + x.ssim, 0) / n,
  };
}
