/**
 * Turning one scored image (HR and each method's output, as tensors) into a report entry: the
 * crop location, the enlarged crops as PNG, and a thumbnail. Also the collector `sr eval --report`
 * feeds image by image.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { encodeImage } from '../image/io';
import { imresize } from '../image/resize';
import { tensorsToImage } from '../image/tensor';
import { meanScore, score, type MetricChannel, type MetricName, type MetricScores } from '../metrics';
import type { ScoredTensors } from '../infer/evaluate';
import { cropToImage, DEFAULT_CROP_SIZE, DEFAULT_ZOOM, largestWindow, squaredErrorMap, type CropRect } from './crop';
import type { ReportImage, VisualReport } from './html';

export interface MethodOutput {
  label: string;
  /** [H, W, C] in [0, 1], the size of HR. */
  sr: tf.Tensor3D;
  score: MetricScores;
}

export interface EntryOptions {
  /** Enlargement of the crops (nearest neighbour). */
  zoom?: number;
  /** Side of the square crop in HR pixels. */
  cropSize?: number;
  /** Pixels kept clear of each edge (the unscored border), when the image is big enough. */
  border?: number;
  /** The crop to show; default: autoCrop of the first output (the baseline). */
  crop?: CropRect;
}

const THUMBNAIL_SIDE = 160;

/** How `autoCrop` chooses, in words for the page. */
export function cropNote(baseline: string, cropSize: number, zoom: number): string {
  return `Crops: ${cropSize}x${cropSize} HR pixels where ${baseline} is furthest from HR (largest summed squared Y error), enlarged ${zoom}x by nearest neighbour.`;
}

/**
 * The crop a report shows: the window where the baseline (bicubic) is furthest from HR. That is
 * where detail was lost in the LR image, so it is where models differ most and a reader's eye
 * should go; flat regions, where every method is right, are never picked.
 */
export async function autoCrop(baseline: tf.Tensor3D, hr: tf.Tensor3D, cropSize: number, border = 0): Promise<CropRect> {
  const [h, w] = hr.shape;
  const map = await squaredErrorMap(baseline, hr);
  return largestWindow(map, w, h, cropSize, cropSize, border);
}

/**
 * The crop where the methods' outputs differ most from one another (largest summed squared Y
 * deviation from their mean): what a side-by-side comparison of models should show.
 */
export async function disagreementCrop(outputs: tf.Tensor3D[], cropSize: number, border = 0): Promise<CropRect> {
  const [h, w] = outputs[0].shape;
  const mean = tf.tidy(() => tf.addN(outputs).div(outputs.length) as tf.Tensor3D);
  try {
    const total = new Float32Array(h * w);
    for (const o of outputs) {
      const map = await squaredErrorMap(o, mean);
      for (let i = 0; i < total.length; i++) total[i] += map[i];
    }
    return largestWindow(total, w, h, cropSize, cropSize, border);
  } finally {
    mean.dispose();
  }
}

async function pngCrop(t: tf.Tensor3D, rect: CropRect, zoom: number): Promise<Buffer> {
  return encodeImage(await cropToImage(t, rect, zoom), 'png');
}

async function thumbnail(hr: tf.Tensor3D): Promise<Buffer> {
  const image = await tensorsToImage(hr, undefined, 8);
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize({ width: THUMBNAIL_SIDE, height: THUMBNAIL_SIDE, fit: 'inside', withoutEnlargement: true })
    .png()
    .toBuffer();
}

/** `outputs[0]` is the baseline: unless a crop is given, it is chosen where the baseline is furthest from HR. */
export async function buildReportImage(
  name: string,
  hr: tf.Tensor3D,
  outputs: MethodOutput[],
  options: EntryOptions = {},
): Promise<ReportImage> {
  if (outputs.length === 0) throw new Error('a report entry needs at least one output');
  const zoom = options.zoom ?? DEFAULT_ZOOM;
  const crop = options.crop ?? (await autoCrop(outputs[0].sr, hr, options.cropSize ?? DEFAULT_CROP_SIZE, options.border ?? 0));
  const crops: Buffer[] = [];
  for (const o of outputs) crops.push(await pngCrop(o.sr, crop, zoom));
  return {
    name,
    width: hr.shape[1],
    height: hr.shape[0],
    crop,
    zoom,
    scores: outputs.map((o) => o.score),
    crops,
    hrCrop: await pngCrop(hr, crop, zoom),
    thumbnail: await thumbnail(hr),
  };
}

/**
 * Collects report entries while `evaluate` runs: for each image it upscales the LR input with
 * MATLAB bicubic as the baseline, scores it the same way, and keeps only the small crops.
 */
export class EvalReportCollector {
  private readonly images: ReportImage[] = [];

  constructor(
    private readonly options: {
      model: string;
      scale: number;
      channel: MetricChannel;
      zoom?: number;
      cropSize?: number;
      metrics?: readonly MetricName[];
    },
  ) {}

  async add(scored: ScoredTensors): Promise<void> {
    const { scale, channel } = this.options;
    const bicubic = imresize(scored.lr, scale);
    try {
      const bicubicScore = await score(bicubic, scored.hr, { border: scale, channel, metrics: this.options.metrics });
      this.images.push(
        await buildReportImage(
          scored.name,
          scored.hr,
          [
            { label: 'bicubic', sr: bicubic, score: bicubicScore },
            { label: this.options.model, sr: scored.sr, score: scored.score },
          ],
          { zoom: this.options.zoom, cropSize: this.options.cropSize, border: scale },
        ),
      );
    } finally {
      bicubic.dispose();
    }
  }

  report(dataset: string): VisualReport {
    const { model, scale, channel } = this.options;
    const zoom = this.options.zoom ?? DEFAULT_ZOOM;
    const methods = ['bicubic', model];
    return {
      title: `${model} on ${dataset}, x${scale}`,
      details: [
        `dataset ${dataset}`,
        `x${scale}`,
        channel === 'y' ? 'PSNR/SSIM on the Y channel' : 'PSNR/SSIM on RGB',
        `${scale}-pixel border not scored`,
        ...(this.options.metrics?.includes('niqe') ? ['NIQE on the Y channel (lower is more natural)'] : []),
      ],
      methods,
      cropNote: cropNote('bicubic', this.options.cropSize ?? DEFAULT_CROP_SIZE, zoom),
      images: this.images,
      mean: methods.map((_, i) => meanScore(this.images.map((img) => img.scores[i]))),
    };
  }
}
