/**
 * Evaluating an upscaler on a folder of ground-truth images with the benchmark protocol:
 * modcrop, MATLAB-bicubic downscale rounded to 8 bits (the LR images the papers publish are 8-bit
 * PNGs), upscale, score (rounded to 8 bits, Y channel, `scale` border pixels cropped).
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SrError } from '../core/errors';
import { readImage, writeImage } from '../image/io';
import { imresize, modcrop } from '../image/resize';
import { quantizeUnit, splitImage, tensorsToImage } from '../image/tensor';
import type { Upscaler } from './upscaler';
import { meanScore, score, type MetricChannel, type MetricName, type MetricScores } from '../metrics';
import { SSIM_WINDOW } from '../metrics/ssim';

export interface EvalImageResult extends MetricScores {
  name: string;
}

export interface EvalResult {
  dataset: string;
  model: string;
  scale: number;
  channel: MetricChannel;
  mean: MetricScores;
  images: EvalImageResult[];
}

export interface EvalOptions {
  datasetName: string;
  images: string[];
  upscaler: Upscaler;
  channel?: MetricChannel;
  /** Metrics beyond PSNR and SSIM (always computed): 'niqe'. */
  metrics?: readonly MetricName[];
  /** Write each super-resolved image here as PNG. */
  saveDir?: string;
  onImage?: (result: EvalImageResult, index: number) => void;
  /** Sees each image's tensors before they are freed (e.g. to cut report crops); awaited. */
  onScored?: (scored: ScoredTensors) => Promise<void> | void;
}

/** One scored image: ground truth, the LR input made from it, and the upscaler's output. */
export interface ScoredTensors {
  name: string;
  /** The HR image's path, as evaluate was given it. */
  file: string;
  hr: tf.Tensor3D;
  lr: tf.Tensor3D;
  sr: tf.Tensor3D;
  score: EvalImageResult;
}

/** The LR input the benchmarks use for a ground-truth image: MATLAB bicubic 1/scale, 8-bit. */
export function degrade(hr: tf.Tensor3D, scale: number): tf.Tensor3D {
  return tf.tidy(() => quantizeUnit(imresize(hr, 1 / scale), 8) as tf.Tensor3D);
}

/**
 * The smallest side an HR image may have to be scored at `scale`: after modcrop and cropping
 * `scale` pixels from each border, the SSIM window must still fit.
 */
export function minEvalSize(scale: number): number {
  return scale * Math.ceil((SSIM_WINDOW + 2 * scale) / scale);
}

export function imageName(file: string): string {
  return path.basename(file, path.extname(file));
}

/** Scores one image; a metric that cannot score it (NIQE on a picture too small for its blocks) names the file. */
async function scoreNamed(file: string, sr: tf.Tensor3D, hr: tf.Tensor3D, options: Parameters<typeof score>[2]): Promise<MetricScores> {
  try {
    return await score(sr, hr, options);
  } catch (err) {
    if (err instanceof SrError) throw new SrError(`${file}: ${err.message}`);
    throw err;
  }
}

export async function evaluateImage(
  file: string,
  upscaler: Upscaler,
  channel: MetricChannel,
  saveDir?: string,
  onScored?: EvalOptions['onScored'],
  metrics?: readonly MetricName[],
): Promise<EvalImageResult> {
  const scale = upscaler.scale;
  const image = await readImage(file);
  // Checked here so the error names the file (the metrics only see tensors).
  const min = minEvalSize(scale);
  if (Math.min(image.width, image.height) < min) {
    throw new SrError(`${file}: ${image.width}x${image.height} is too small to score at x${scale} (at least ${min}x${min} pixels)`);
  }
  const { color, alpha } = splitImage(image);
  alpha?.dispose();
  const hr = modcrop(color, scale);
  color.dispose();
  const lr = degrade(hr, scale);
  let sr: tf.Tensor3D | undefined;
  try {
    sr = await upscaler.upscale(lr);
    const result = { name: imageName(file), ...(await scoreNamed(file, sr, hr, { border: scale, channel, metrics })) };
    if (saveDir) await writeImage(path.join(saveDir, `${imageName(file)}.png`), await tensorsToImage(sr, undefined, 8));
    await onScored?.({ name: result.name, file, hr, lr, sr, score: result });
    return result;
  } finally {
    tf.dispose([hr, lr, ...(sr ? [sr] : [])]);
  }
}

export async function evaluate(options: EvalOptions): Promise<EvalResult> {
  const channel = options.channel ?? 'y';
  const images: EvalImageResult[] = [];
  for (const [i, file] of options.images.entries()) {
    const result = await evaluateImage(file, options.upscaler, channel, options.saveDir, options.onScored, options.metrics);
    images.push(result);
    options.onImage?.(result, i);
  }
  return {
    dataset: options.datasetName,
    model: options.upscaler.name,
    scale: options.upscaler.scale,
    channel,
    mean: meanScore(images),
    images,
  };
}
