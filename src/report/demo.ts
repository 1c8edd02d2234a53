/**
 * `sr demo`: the project's own test picture shrunk and brought back by bicubic and by every model
 * whose weights ship for that scale, scored against the original, with a crop grid and an HTML
 * report to look at. Needs nothing but the package itself.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { SrError, UsageError } from '../core/errors';
import { readImage, type Image } from '../image/io';
import { imresize, modcrop } from '../image/resize';
import { splitImage } from '../image/tensor';
import { drawSample } from '../image/sample';
import { checkScale, loadUpscaler, SHIPPED_MODELS, shippedCheckpointsDir } from '../infer';
import { isCheckpointDir } from '../checkpoint';
import { degrade } from '../infer/evaluate';
import { score, type Score } from '../metrics';
import { cropToImage, DEFAULT_CROP_SIZE, DEFAULT_ZOOM } from './crop';
import { autoCrop, buildReportImage, cropNote, type MethodOutput } from './entry';
import { renderGrid } from './grid';
import { renderReportHtml, writeOutput } from './html';
import { packagePath } from '../core/paths';

export const DEFAULT_DEMO_DIR = 'sr-demo';

export interface DemoOptions {
  scale: number;
  outDir: string;
  /** Default docs/sample.png, drawn afresh when the package has no docs/. */
  sample?: string;
  /** Draw the sample picture at this side in pixels instead (not with `sample`). */
  sampleSize?: number;
  zoom?: number;
  cropSize?: number;
  /** Called before each method runs, and for each one skipped (for progress). */
  onMethod?: (label: string) => void;
}

export interface DemoMethodResult extends Score {
  model: string;
  label: string;
  seconds: number;
}

export interface DemoResult {
  sample: string;
  scale: number;
  /** HR size (the sample cropped to a multiple of the scale) and LR size. */
  hr: { width: number; height: number };
  lr: { width: number; height: number };
  results: DemoMethodResult[];
  skipped: { model: string; reason: string }[];
  grid: string;
  report: string;
  labelsRendered: boolean;
}

export function defaultSamplePath(): string {
  // src/report or dist/report: the package root is two levels up.
  return packagePath('docs', 'sample.png');
}

/** Bounds for `sampleSize`: big enough to crop at x4, small enough to run in seconds to minutes. */
export const SAMPLE_SIZE_RANGE = [64, 2048] as const;

/** `size` when it is a whole number within SAMPLE_SIZE_RANGE, else a usage error naming `what`. */
export function checkSampleSize(size: number, what = 'the sample size', given: string = String(size)): number {
  const [min, max] = SAMPLE_SIZE_RANGE;
  if (!Number.isInteger(size) || size < min || size > max)
    throw new UsageError(`${what} must be a whole number of pixels from ${min} to ${max}, got '${given}'`);
  return size;
}

async function drawnSample(size: number | undefined): Promise<Image> {
  const png = await drawSample(size);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels as 3, bitDepth: 8 };
}

async function loadSample(file: string | undefined, size: number | undefined): Promise<{ image: Image; name: string }> {
  if (file && size !== undefined) throw new UsageError('give either a sample picture or a size to draw the sample at, not both');
  if (file) return { image: await readImage(file), name: file };
  if (size !== undefined) return { image: await drawnSample(checkSampleSize(size)), name: `the drawn sample, ${size}x${size}` };
  const shipped = defaultSamplePath();
  if (fs.existsSync(shipped)) return { image: await readImage(shipped), name: shipped };
  return { image: await drawnSample(undefined), name: 'the drawn sample' };
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { scale, outDir } = options;
  checkScale(scale);
  const zoom = options.zoom ?? DEFAULT_ZOOM;
  const cropSize = options.cropSize ?? DEFAULT_CROP_SIZE;
  const sample = await loadSample(options.sample, options.sampleSize);
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw new SrError(`${outDir}: is a file; -o names the output folder`);
  fs.mkdirSync(outDir, { recursive: true });

  const { color, alpha } = splitImage(sample.image);
  alpha?.dispose();
  const hr = modcrop(color, scale);
  color.dispose();
  const lr = degrade(hr, scale);
  const outputs: (MethodOutput & { model: string; seconds: number })[] = [];
  const skipped: DemoResult['skipped'] = [];
  try {
    const run = async (model: string, label: string, upscale: () => Promise<tf.Tensor3D>) => {
      options.onMethod?.(label);
      const started = Date.now();
      const sr = await upscale();
      const seconds = (Date.now() - started) / 1000;
      outputs.push({ model, label, sr, seconds, score: await score(sr, hr, { border: scale, channel: 'y' }) });
    };
    await run('bicubic', 'bicubic', async () => imresize(lr, scale));
    for (const name of SHIPPED_MODELS) {
      const dir = path.join(shippedCheckpointsDir(), `${name}-x${scale}`);
      if (!isCheckpointDir(dir)) {
        skipped.push({ model: name, reason: `no shipped ${name} weights for x${scale} (checkpoints/${name}-x${scale})` });
        options.onMethod?.(`${name} (skipped)`);
        continue;
      }
      const upscaler = await loadUpscaler({ model: name, scale });
      try {
        await run(name, upscaler.name, () => upscaler.upscale(lr));
      } finally {
        upscaler.dispose();
      }
    }

    const crop = await autoCrop(outputs[0].sr, hr, cropSize, scale);
    const columns = [{ label: 'HR', lines: ['ground truth'], image: await cropToImage(hr, crop, zoom) }];
    for (const o of outputs) {
      columns.push({
        label: o.label,
        lines: [`PSNR ${o.score.psnr.toFixed(2)} dB`, `SSIM ${o.score.ssim.toFixed(4)}`],
        image: await cropToImage(o.sr, crop, zoom),
      });
    }
    const grid = await renderGrid(columns);
    const gridPath = path.join(outDir, 'grid.png');
    await writeOutput(gridPath, grid.png);

    const entry = await buildReportImage('sample', hr, outputs, { zoom, cropSize, border: scale });
    const reportPath = path.join(outDir, 'report.html');
    await writeOutput(
      reportPath,
      renderReportHtml({
        title: `sr demo: the sample picture at x${scale}`,
        details: [
          `${hr.shape[1]}x${hr.shape[0]} shrunk to ${lr.shape[1]}x${lr.shape[0]} (MATLAB bicubic) and upscaled back`,
          'PSNR/SSIM on the Y channel',
          `${scale}-pixel border not scored`,
          ...skipped.map((s) => `skipped: ${s.reason}`),
        ],
        methods: outputs.map((o) => o.label),
        cropNote: cropNote('bicubic', cropSize, zoom),
        images: [entry],
        mean: entry.scores,
      }),
    );
    return {
      sample: sample.name,
      scale,
      hr: { width: hr.shape[1], height: hr.shape[0] },
      lr: { width: lr.shape[1], height: lr.shape[0] },
      results: outputs.map((o) => ({ model: o.model, label: o.label, seconds: o.seconds, ...o.score })),
      skipped,
      grid: gridPath,
      report: reportPath,
      labelsRendered: grid.labelsRendered,
    };
  } finally {
    tf.dispose([hr, lr, ...outputs.map((o) => o.sr)]);
  }
}
