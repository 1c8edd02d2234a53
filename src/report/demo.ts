/**
 * `sr demo`: a photograph (or the project's drawn test card) shrunk and brought back by bicubic and
 * by every model whose weights ship for that scale, scored against the original, with a crop grid
 * and an HTML report to look at. Needs nothing but the package itself.
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
import { niqeFits, score, type MetricName, type MetricScores } from '../metrics';
import { metricGridLine } from './metric-text';
import { cropToImage, DEFAULT_CROP_SIZE, DEFAULT_ZOOM } from './crop';
import { autoCrop, buildReportImage, cropNote, disagreementCrop, type MethodOutput } from './entry';
import { renderGrid } from './grid';
import { renderReportHtml, writeOutput } from './html';
import { packagePath } from '../core/paths';

export const DEFAULT_DEMO_DIR = 'sr-demo';

/** The photographs shipped in docs/samples/ (licences in docs/samples/LICENSE.md), by the name `--sample` takes. */
export const SAMPLE_PHOTOS: Readonly<Record<string, string>> = { astronaut: 'astronaut.png', cat: 'chelsea.png' };
export const DEFAULT_SAMPLE = 'astronaut';
/** The `--sample` name of the test card the project draws itself. */
export const CARD_SAMPLE = 'card';

/**
 * The scores the demo shows, in order: the table's columns and the lines under each grid label.
 * Another metric is one more name here (formats come from the metrics registry).
 */
export const DEMO_METRICS: readonly MetricName[] = ['psnr', 'ssim', 'niqe'];

export interface DemoOptions {
  scale: number;
  outDir: string;
  /** A name from SAMPLE_PHOTOS, CARD_SAMPLE, or an image file; default DEFAULT_SAMPLE. */
  sample?: string;
  /** Draw the test card at this side in pixels (implies the card; not with a photo). */
  sampleSize?: number;
  zoom?: number;
  cropSize?: number;
  /** Called before each method runs, and for each one skipped (for progress). */
  onMethod?: (label: string) => void;
}

export interface DemoMethodResult extends MetricScores {
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
  /** Why the picture is not the one asked for (a package installed without docs/). */
  notes: string[];
  grid: string;
  report: string;
  labelsRendered: boolean;
}

export function samplePhotoPath(name: string): string {
  return packagePath('docs', 'samples', SAMPLE_PHOTOS[name]);
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

interface LoadedSample {
  image: Image;
  name: string;
  notes: string[];
}

async function loadCard(size: number | undefined): Promise<LoadedSample> {
  if (size === undefined) return { image: await drawnSample(undefined), name: 'the drawn sample', notes: [] };
  return { image: await drawnSample(checkSampleSize(size)), name: `the drawn sample, ${size}x${size}`, notes: [] };
}

async function loadPhoto(name: string): Promise<LoadedSample> {
  const file = samplePhotoPath(name);
  if (fs.existsSync(file)) return { image: await readImage(file), name: file, notes: [] };
  // An npm-installed package has no docs/: the card still makes a demo.
  const card = await loadCard(undefined);
  return { ...card, notes: [`${file} is not in this install: showing the drawn test card instead`] };
}

/** `sample` is a photo name, the card, or a file; `size` draws the card (and rules out the others). */
async function loadSample(sample: string | undefined, size: number | undefined): Promise<LoadedSample> {
  if (sample === CARD_SAMPLE || (sample === undefined && size !== undefined)) return loadCard(size);
  if (size !== undefined) throw new UsageError(`give either a sample picture or a size to draw the test card at, not both`);
  const choice = sample ?? DEFAULT_SAMPLE;
  if (Object.prototype.hasOwnProperty.call(SAMPLE_PHOTOS, choice)) return loadPhoto(choice);
  return { image: await readImage(choice), name: choice, notes: [] };
}

/** The lines under a method's label in the grid, one per DEMO_METRICS entry. */
function scoreLines(s: MetricScores): string[] {
  return DEMO_METRICS.map((name) => metricGridLine(name, s));
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { scale, outDir } = options;
  checkScale(scale);
  const zoom = options.zoom ?? DEFAULT_ZOOM;
  const cropSize = options.cropSize ?? DEFAULT_CROP_SIZE;
  const sample = await loadSample(options.sample, options.sampleSize);
  const title = path.basename(sample.name);
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw new SrError(`${outDir}: is a file; -o names the output folder`);
  fs.mkdirSync(outDir, { recursive: true });

  const { color, alpha } = splitImage(sample.image);
  alpha?.dispose();
  const hr = modcrop(color, scale);
  color.dispose();
  const lr = degrade(hr, scale);
  const outputs: (MethodOutput & { model: string; seconds: number })[] = [];
  // NIQE needs whole 96x96 blocks: a small drawn card shows '-' in its column.
  const [height, width] = hr.shape;
  const metrics = DEMO_METRICS.filter((m) => m !== 'niqe' || niqeFits(width, height, scale));
  const skipped: DemoResult['skipped'] = [];
  try {
    const run = async (model: string, label: string, upscale: () => Promise<tf.Tensor3D>) => {
      options.onMethod?.(label);
      const started = Date.now();
      const sr = await upscale();
      const seconds = (Date.now() - started) / 1000;
      outputs.push({ model, label, sr, seconds, score: await score(sr, hr, { border: scale, channel: 'y', metrics }) });
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

    // Where the methods disagree most: with one method (no shipped weights), where it misses HR most.
    const crop =
      outputs.length > 1
        ? await disagreementCrop(
            outputs.map((o) => o.sr),
            cropSize,
            scale,
          )
        : await autoCrop(outputs[0].sr, hr, cropSize, scale);
    const columns = [{ label: 'HR', lines: ['ground truth'], image: await cropToImage(hr, crop, zoom) }];
    for (const o of outputs) {
      columns.push({
        label: o.label,
        lines: scoreLines(o.score),
        image: await cropToImage(o.sr, crop, zoom),
      });
    }
    const grid = await renderGrid(columns);
    const gridPath = path.join(outDir, 'grid.png');
    await writeOutput(gridPath, grid.png);

    const entry = await buildReportImage(title, hr, outputs, { zoom, cropSize, border: scale, crop });
    const reportPath = path.join(outDir, 'report.html');
    await writeOutput(
      reportPath,
      renderReportHtml({
        title: `sr demo: ${title} at x${scale}`,
        details: [
          `${hr.shape[1]}x${hr.shape[0]} shrunk to ${lr.shape[1]}x${lr.shape[0]} (MATLAB bicubic) and upscaled back`,
          'PSNR/SSIM on the Y channel',
          `${scale}-pixel border not scored`,
          ...skipped.map((s) => `skipped: ${s.reason}`),
        ],
        methods: outputs.map((o) => o.label),
        cropNote:
          outputs.length > 1
            ? `Crop: ${cropSize}x${cropSize} HR pixels where the methods differ most from one another (largest summed squared Y deviation from their mean), enlarged ${zoom}x by nearest neighbour.`
            : cropNote('bicubic', cropSize, zoom),
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
      notes: sample.notes,
      grid: gridPath,
      report: reportPath,
      labelsRendered: grid.labelsRendered,
    };
  } finally {
    tf.dispose([hr, lr, ...outputs.map((o) => o.sr)]);
  }
}
