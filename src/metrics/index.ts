/**
 * Scoring a super-resolved image against its ground truth the way published tables do:
 * both rounded to 8 bits, converted to the Y channel of BT.601 YCbCr (itself rounded to 8 bits, as
 * MATLAB's rgb2ycbcr does for uint8 images) or kept RGB, `border`
 * pixels cropped from each side, then PSNR and SSIM; and, when asked, NIQE of the result alone
 * (always on its Y channel, with the same border crop).
 */
import * as tf from '@tensorflow/tfjs';
import { luma } from '../image/color';
import { quantizeUnit } from '../image/tensor';
import { niqeOfImage } from './niqe';
import { psnrBatch } from './psnr';
import type { MetricName } from './registry';
import { ssimBatch } from './ssim';

export { psnrBatch } from './psnr';
export { ssimBatch, gaussianWindow } from './ssim';
export { niqeFits, niqeOfImage, niqeOfLuma } from './niqe';
export { DEFAULT_METRICS, METRICS, METRIC_NAMES, parseMetricList, type MetricName, type MetricSpec } from './registry';

export type MetricChannel = 'y' | 'rgb';
export const METRIC_CHANNELS: MetricChannel[] = ['y', 'rgb'];

export interface ScoreOptions {
  /** Pixels cropped from each border (the scale factor, by convention). */
  border: number;
  channel?: MetricChannel;
  /** Metrics beyond PSNR and SSIM (which are always computed): 'niqe'. */
  metrics?: readonly MetricName[];
}

export interface Score {
  psnr: number;
  ssim: number;
}

/** A Score and the metrics asked for beyond it. */
export interface MetricScores extends Score {
  /** NIQE of the result alone (lower is more natural), when asked for. */
  niqe?: number;
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
export async function scoreBatch(
  sr: tf.Tensor3D | tf.Tensor4D,
  hr: tf.Tensor3D | tf.Tensor4D,
  options: ScoreOptions,
): Promise<MetricScores[]> {
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
  const niqe = options.metrics?.includes('niqe') ? niqeScores(sr, options.border) : undefined;
  return Array.from(p, (v, i) => ({ psnr: v, ssim: s[i], ...(niqe ? { niqe: niqe[i] } : {}) }));
}

/** NIQE of each image of a batch (or of one image), with the border PSNR crops. */
function niqeScores(sr: tf.Tensor3D | tf.Tensor4D, border: number): number[] {
  if (sr.rank === 3) return [niqeOfImage(sr as tf.Tensor3D, { border })];
  const images = tf.unstack(sr) as tf.Tensor3D[];
  try {
    return images.map((image) => niqeOfImage(image, { border }));
  } finally {
    tf.dispose(images);
  }
}

export async function score(sr: tf.Tensor3D, hr: tf.Tensor3D, options: ScoreOptions): Promise<MetricScores> {
  return (await scoreBatch(sr, hr, options))[0];
}

export function meanScore(scores: MetricScores[]): MetricScores {
  const n = Math.max(1, scores.length);
  const mean = (pick: (s: MetricScores) => number) => scores.reduce((sum, x) => sum + pick(x), 0) / n;
  const withNiqe = scores.length > 0 && scores.every((s) => s.niqe !== undefined);
  return { psnr: mean((s) => s.psnr), ssim: mean((s) => s.ssim), ...(withNiqe ? { niqe: mean((s) => s.niqe!) } : {}) };
}
