/**
 * `sr compare`: the same crop of a ground-truth image and of several results (other upscalers'
 * outputs, say), side by side in one labelled PNG, each result headed by its PSNR/SSIM against HR.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SrError, UsageError } from '../core/errors';
import { readImage } from '../image/io';
import { splitImage } from '../image/tensor';
import { niqeFits, score, type MetricChannel, type MetricName, type MetricScores } from '../metrics';
import { metricGridLine } from './metric-text';
import { SSIM_WINDOW } from '../metrics/ssim';
import { checkCrop, cropToImage, DEFAULT_CROP_SIZE, DEFAULT_ZOOM, largestWindow, squaredErrorMap, type CropRect } from './crop';
import { renderGrid, type Grid, type GridColumn } from './grid';

export interface CompareOptions {
  /** The ground truth, shown first. */
  hr: string;
  /** Images of HR's size to compare with it. */
  inputs: string[];
  /** One per input, or one per image with HR's first; default: file names, and 'HR'. */
  labels?: string[];
  /** In HR pixels; default: an automatic square of `cropSize`. */
  crop?: CropRect;
  cropSize?: number;
  zoom?: number;
  /** Pixels left out of the scores on each side (e.g. the scale, as in published tables). */
  border?: number;
  channel?: MetricChannel;
  /** Metrics beyond PSNR and SSIM: 'niqe' (also shown for HR). */
  metrics?: readonly MetricName[];
}

export interface ComparedImage extends MetricScores {
  file: string;
  label: string;
}

export interface CompareResult {
  grid: Grid;
  crop: CropRect;
  zoom: number;
  hrLabel: string;
  /** HR's own NIQE, when NIQE was asked for. */
  hrNiqe?: number;
  scores: ComparedImage[];
}

/** Default labels: file names without extension, or the paths as given where names collide. */
export function defaultLabels(files: string[]): string[] {
  const names = files.map((f) => path.basename(f, path.extname(f)));
  return names.map((n, i) => (names.filter((m) => m === n).length > 1 ? files[i] : n));
}

function resolveLabels(options: CompareOptions): { hrLabel: string; labels: string[] } {
  const n = options.inputs.length;
  if (!options.labels) return { hrLabel: 'HR', labels: defaultLabels(options.inputs) };
  if (options.labels.length === n + 1) return { hrLabel: options.labels[0], labels: options.labels.slice(1) };
  if (options.labels.length === n) return { hrLabel: 'HR', labels: options.labels };
  throw new UsageError(`--labels has ${options.labels.length} label(s); give ${n} (one per compared image) or ${n + 1} (HR's first)`);
}

/** RGB [H, W, 3] float tensors of every file (gray replicated when any file is colour). */
async function loadAll(files: string[]): Promise<tf.Tensor3D[]> {
  const tensors: tf.Tensor3D[] = [];
  try {
    for (const file of files) {
      const { color, alpha } = splitImage(await readImage(file));
      alpha?.dispose();
      tensors.push(color);
    }
    if (tensors.some((t) => t.shape[2] === 3)) {
      for (const [i, t] of tensors.entries()) {
        if (t.shape[2] === 1) {
          tensors[i] = tf.tile(t, [1, 1, 3]);
          t.dispose();
        }
      }
    }
    return tensors;
  } catch (err) {
    tf.dispose(tensors);
    throw err;
  }
}

export async function compareImages(options: CompareOptions): Promise<CompareResult> {
  if (options.inputs.length === 0) throw new UsageError('nothing to compare: give HR and at least one image');
  const { hrLabel, labels } = resolveLabels(options);
  const zoom = options.zoom ?? DEFAULT_ZOOM;
  const border = options.border ?? 0;
  const [hr, ...others] = await loadAll([options.hr, ...options.inputs]);
  try {
    const [h, w] = hr.shape;
    others.forEach((t, i) => {
      if (t.shape[0] !== h || t.shape[1] !== w) {
        throw new SrError(
          `${options.inputs[i]}: ${t.shape[1]}x${t.shape[0]}, but HR ${options.hr} is ${w}x${h} (every image must have HR's size)`,
        );
      }
    });
    if (Math.min(h, w) - 2 * border < SSIM_WINDOW) {
      throw new SrError(
        `${options.hr}: ${w}x${h} is too small to score with a border of ${border} (at least ${SSIM_WINDOW + 2 * border} pixels a side)`,
      );
    }
    let crop: CropRect;
    if (options.crop) {
      checkCrop(options.crop, w, h);
      crop = options.crop;
    } else {
      crop = await autoCompareCrop(hr, others, options.cropSize ?? DEFAULT_CROP_SIZE, border);
    }
    const metrics = options.metrics ?? [];
    if (metrics.includes('niqe') && !niqeFits(w, h, border)) {
      throw new SrError(`${options.hr}: ${w}x${h} holds too few 96x96 blocks for NIQE with a border of ${border}`);
    }
    const scores: ComparedImage[] = [];
    for (const [i, t] of others.entries()) {
      scores.push({
        file: options.inputs[i],
        label: labels[i],
        ...(await score(t, hr, { border, channel: options.channel ?? 'y', metrics })),
      });
    }
    const hrNiqe = metrics.includes('niqe') ? (await score(hr, hr, { border, metrics: ['niqe'] })).niqe : undefined;
    const shown: MetricName[] = ['psnr', 'ssim', ...(metrics.includes('niqe') ? (['niqe'] as const) : [])];
    const hrLines = ['ground truth', ...(hrNiqe === undefined ? [] : [metricGridLine('niqe', { niqe: hrNiqe })])];
    const columns: GridColumn[] = [{ label: hrLabel, lines: hrLines, image: await cropToImage(hr, crop, zoom) }];
    for (const [i, t] of others.entries()) {
      const s = scores[i];
      columns.push({ label: s.label, lines: shown.map((m) => metricGridLine(m, s)), image: await cropToImage(t, crop, zoom) });
    }
    return { grid: await renderGrid(columns), crop, zoom, hrLabel, ...(hrNiqe === undefined ? {} : { hrNiqe }), scores };
  } finally {
    tf.dispose([hr, ...others]);
  }
}

/**
 * Without `--crop`: the window where the compared images are, on average, furthest from HR
 * (largest summed squared Y error), which is where they differ from one another too.
 */
async function autoCompareCrop(hr: tf.Tensor3D, others: tf.Tensor3D[], cropSize: number, border: number): Promise<CropRect> {
  const [h, w] = hr.shape;
  const total = new Float32Array(h * w);
  for (const t of others) {
    const map = await squaredErrorMap(t, hr);
    for (let i = 0; i < total.length; i++) total[i] += map[i];
  }
  return largestWindow(total, w, h, cropSize, cropSize, border);
}
