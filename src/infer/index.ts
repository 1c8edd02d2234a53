/**
 * Finding an Upscaler by name: an interpolation kernel, a model with shipped weights
 * (`checkpoints/<name>-x<scale>`), or a checkpoint folder. Also the whole-image path used by
 * `sr upscale` (alpha and gray handled here).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SrError, UsageError } from '../core/errors';
import { imresize, RESIZE_KERNELS } from '../image/resize';
import type { Image } from '../image/io';
import { splitImage, tensorsToImage } from '../image/tensor';
import { describeNetwork, findArchitecture, type ShownNetwork } from '../models';
import { backendInfo } from '../runtime/tfjs';
import { isCheckpointDir, loadCheckpoint, readCheckpointMeta, type CheckpointMeta } from '../checkpoint';
import { onnxCheckpointNetwork, type OnnxNetworkOptions } from '../engines/onnx/network';
import { interpolationUpscaler, isInterpolation } from './interpolation';
import { DEFAULT_TILE_PAD, tiledUpscaler, type TileSize } from './tile';
import { ensembleUpscaler } from './ensemble';
import { engineUpscaler, modelUpscaler } from './model-upscaler';
import type { EngineChoice, EngineInfo, Upscaler } from './upscaler';
import { packagePath } from '../core/paths';

export { ENGINE_CHOICES, type EngineChoice, type EngineInfo, type Upscaler } from './upscaler';
export { interpolationUpscaler, isInterpolation } from './interpolation';
export { modelUpscaler, upscaleWithNetwork } from './model-upscaler';

export interface UpscalerRequest {
  /** 'bicubic', 'srcnn', 'srgan', a checkpoint folder or a training run folder. */
  model: string;
  /** Required for interpolation; for checkpoints it must match (default: the checkpoint's). */
  scale?: number;
  /**
   * Where a network runs: 'tfjs' (default here; the CLI's default is 'auto'), 'onnx' (ONNX Runtime,
   * an error when it cannot run) or 'auto' (ONNX Runtime when it loads, else tfjs with a note).
   */
  engine?: EngineChoice;
  /** CPU threads for ONNX Runtime (default: every core). */
  threads?: number;
}

export type EngineOptions = Pick<UpscalerRequest, 'engine' | 'threads'>;

export const SUPPORTED_SCALES = [2, 3, 4];
export const DEFAULT_SCALE = 4;
/** Names whose weights ship in checkpoints/<name>-x<scale>. */
export const SHIPPED_MODELS = ['srcnn', 'srresnet', 'srgan'];

/** How each shipped model is trained, for the message when its weights are absent. */
const TRAIN_COMMAND: Record<string, string> = {
  srresnet: 'sr train srgan --phase pretrain',
  srgan: 'sr train srgan --phase gan',
};

export function shippedCheckpointsDir(): string {
  // src/infer or dist/infer: the package root is two levels up.
  return packagePath('checkpoints');
}

export function checkScale(scale: number): void {
  if (!SUPPORTED_SCALES.includes(scale)) {
    throw new UsageError(`unsupported scale ${scale} (choose one of ${SUPPORTED_SCALES.join(', ')})`);
  }
}

/** A training run folder holds best/ and last/; a checkpoint folder holds MANIFEST. */
export function checkpointFolder(p: string): string | undefined {
  if (isCheckpointDir(p)) return p;
  for (const sub of ['best', 'last']) if (isCheckpointDir(path.join(p, sub))) return path.join(p, sub);
  return undefined;
}

function shippedFor(name: string, scale: number): string {
  const dir = path.join(shippedCheckpointsDir(), `${name}-x${scale}`);
  if (!isCheckpointDir(dir)) {
    const available = SUPPORTED_SCALES.filter((s) => isCheckpointDir(path.join(shippedCheckpointsDir(), `${name}-x${s}`)));
    throw new UsageError(
      `no shipped ${name} weights for x${scale}` +
        (available.length
          ? ` (shipped: ${available.map((s) => `x${s}`).join(', ')})`
          : `; train them with \`${TRAIN_COMMAND[name] ?? `sr train ${name}`}\` and pass the run folder as --model`),
    );
  }
  return dir;
}

function knownNames(): string {
  return [...RESIZE_KERNELS, ...SHIPPED_MODELS].join(', ');
}

/** What the upscalers need to know about a checkpoint's network, refusing one trained for another scale. */
export function describeCheckpoint(dir: string, meta: CheckpointMeta, label: string, scale?: number): ShownNetwork {
  if (scale !== undefined && meta.scale !== scale) throw new UsageError(`checkpoint ${dir} was trained for x${meta.scale}, not x${scale}`);
  if (!findArchitecture(meta.architecture)) throw new SrError(`checkpoint ${dir}: unknown architecture '${meta.architecture}'`);
  return { name: label, ...describeNetwork(meta.architecture, meta.options, meta.scale, `${dir} meta.options`) };
}

/** A checkpoint's network on ONNX Runtime, as an Upscaler. */
export async function onnxCheckpointUpscaler(dir: string, d: ShownNetwork, options: OnnxNetworkOptions = {}): Promise<Upscaler> {
  return engineUpscaler(await onnxCheckpointNetwork(dir, d, options), d);
}

function tfjsEngine(requested: EngineChoice, notes: string[] = []): EngineInfo {
  return { requested, active: 'tfjs', description: `tfjs (${backendInfo()?.active ?? tf.getBackend()})`, notes };
}

/** Loads a checkpoint folder as an Upscaler on the requested engine. */
export async function upscalerFromCheckpoint(
  dir: string,
  label: string,
  scale?: number,
  engineOptions: EngineOptions = {},
): Promise<Upscaler> {
  const requested = engineOptions.engine ?? 'tfjs';
  const notes: string[] = [];
  if (requested !== 'tfjs') {
    const d = describeCheckpoint(dir, readCheckpointMeta(dir), label, scale);
    try {
      return await onnxCheckpointUpscaler(dir, d, { threads: engineOptions.threads, requested });
    } catch (err) {
      // 'auto' falls back on what a user can meet (no runtime, a layer the exporter lacks); a bug still surfaces.
      if (requested === 'onnx' || !(err instanceof SrError)) throw err;
      notes.push(`${err.message}; running on tfjs instead`);
    }
  }
  const { meta, networks } = await loadCheckpoint(dir);
  const model = networks.model;
  try {
    return modelUpscaler(model, describeCheckpoint(dir, meta, label, scale), tfjsEngine(requested, notes));
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** The checkpoint folder a model name (shipped name at a scale, checkpoint or run folder) stands for. */
export function findCheckpoint(model: string, scale?: number): { dir: string; label: string } {
  if (SHIPPED_MODELS.includes(model)) {
    const s = scale ?? DEFAULT_SCALE;
    return { dir: shippedFor(model, s), label: `${model}-x${s}` };
  }
  if (fs.existsSync(model)) {
    const found = checkpointFolder(model);
    if (!found) {
      // Say "incomplete" when it looks like a checkpoint that was cut off mid-write.
      if (fs.existsSync(path.join(model, 'model.json'))) readCheckpointMeta(model);
      throw new SrError(`${model} is not a checkpoint folder (no MANIFEST in it, its best/ or its last/)`);
    }
    return { dir: found, label: model };
  }
  throw new UsageError(`unknown model '${model}' (choose one of ${knownNames()}, or give a checkpoint folder)`);
}

export async function loadUpscaler(request: UpscalerRequest): Promise<Upscaler> {
  if (request.scale !== undefined) checkScale(request.scale);
  if (isInterpolation(request.model)) {
    const upscaler = interpolationUpscaler(request.model, request.scale ?? DEFAULT_SCALE);
    const notes = request.engine === 'onnx' ? [`${request.model} has no network to export; it runs on tfjs`] : [];
    return { ...upscaler, engine: tfjsEngine(request.engine ?? 'tfjs', notes) };
  }
  const { dir, label } = findCheckpoint(request.model, request.scale);
  return upscalerFromCheckpoint(dir, label, request.scale, request);
}

export interface BuildUpscalerOptions {
  model: string;
  scale?: number;
  tile: TileSize;
  tilePad: number;
  ensemble?: boolean;
  engine?: EngineChoice;
  /** wasm threads; also ONNX Runtime's intra-op threads. */
  threads?: number;
  /** Called after each tile when an image is upscaled in tiles. */
  onTile?: (done: number, total: number) => void;
}

/** The model, tiled to bound memory, optionally self-ensembled (the ensemble runs per tile). */
export async function buildUpscaler(opts: BuildUpscalerOptions): Promise<Upscaler> {
  const base = await loadUpscaler({ model: opts.model, scale: opts.scale, engine: opts.engine, threads: opts.threads });
  return tiledUpscaler(opts.ensemble ? ensembleUpscaler(base) : base, { tile: opts.tile, pad: opts.tilePad, onTile: opts.onTile });
}

/** LR pixels mirrored around an alpha channel before the model sees it (at most the image size). */
export const ALPHA_MODEL_PAD = 16;

/**
 * An alpha channel [H, W, 1] through an upscaler, to [H*s, W*s, 1]. It goes in replicated to RGB
 * rather than as gray: RGB reaches a Y-channel model as BT.601 Y in [16, 235], the range it was
 * trained on, whereas gray is fed as is and its 0 and 1 lie outside it (the shipped SRCNN x2 turns
 * a gray 0 into 7/255, a visible haze over a transparent background, but keeps an RGB 0 at 0).
 * It is mirror-padded first because models trained with zero 'same' padding darken the border,
 * which would fade an opaque image's edges (by up to 12 levels with SRCNN).
 */
export async function upscaleAlphaWithModel(alpha: tf.Tensor3D, upscaler: Upscaler): Promise<tf.Tensor3D> {
  const [h, w] = alpha.shape;
  const s = upscaler.scale;
  const [py, px] = [Math.min(ALPHA_MODEL_PAD, h), Math.min(ALPHA_MODEL_PAD, w)];
  const input = tf.tidy(
    () =>
      tf.tile(
        tf.mirrorPad(
          alpha,
          [
            [py, py],
            [px, px],
            [0, 0],
          ],
          'symmetric',
        ),
        [1, 1, 3],
      ) as tf.Tensor3D,
  );
  let up: tf.Tensor3D;
  try {
    up = await upscaler.upscale(input);
  } finally {
    input.dispose();
  }
  const out = tf.tidy(() => up.slice([py * s, px * s, 0], [h * s, w * s, 3]).mean(2, true) as tf.Tensor3D);
  up.dispose();
  return out;
}

/** How an alpha channel is upscaled: MATLAB bicubic, or by the model as a gray image. */
export type AlphaMode = 'bicubic' | 'model';
export const ALPHA_MODES: AlphaMode[] = ['bicubic', 'model'];

export interface UpscaleImageOptions {
  /** Final scale when it differs from the upscaler's (bicubic does the rest). */
  outscale?: number;
  /** Default 'bicubic': smooth, never ringing, and free. */
  alpha?: AlphaMode;
  /** Output pixels per band of a large image (default BAND_OUTPUT_PIXELS); see upscaleImage. */
  bandPixels?: number;
}

/**
 * Output pixels above which a picture is done in horizontal bands. A 2000x2000 RGBA picture at x4
 * is 8000x8000: whole, its float colour, alpha, joined and rounded copies alone would pass 3 GB
 * (wasm's heap ends at 4 GB), so only one band's tensors exist at a time and the rounded bands are
 * written straight into the output's integer buffer.
 */
export const BAND_OUTPUT_PIXELS = 2048 * 2048;
/** LR rows of real context above and below a band (as much as a tile gets: the networks' reach). */
export const BAND_CONTEXT = DEFAULT_TILE_PAD;

/**
 * Upscales a whole decoded image: colour through the upscaler, alpha (if any) by bicubic or, with
 * `alpha: 'model'`, through the same upscaler as a gray image (sharper mask edges), gray stays
 * gray, bit depth is kept. With `outscale`, the model's result is resized (MATLAB bicubic) to
 * round(size * outscale), for scales the model was not trained for.
 *
 * Large results are made band by band: each band of LR rows is upscaled with BAND_CONTEXT rows of
 * context on each side, which are then cut away, so the bands join without seams (as tiles do).
 */
export async function upscaleImage(image: Image, upscaler: Upscaler, options: UpscaleImageOptions = {}): Promise<Image> {
  const s = upscaler.scale;
  const rowPixels = image.width * s * s;
  const bandRows = Math.max(1, Math.floor((options.bandPixels ?? BAND_OUTPUT_PIXELS) / rowPixels));
  // A non-integer final scale maps output rows across band edges: such pictures are done whole.
  const integerScale = options.outscale === undefined || options.outscale === s;
  if (!integerScale || image.height <= bandRows) return upscaleWhole(image, upscaler, options);
  const rowValues = image.width * image.channels;
  const outRowValues = image.width * s * image.channels;
  const data = image.bitDepth === 16 ? new Uint16Array(image.height * s * outRowValues) : new Uint8Array(image.height * s * outRowValues);
  for (let y0 = 0; y0 < image.height; y0 += bandRows) {
    const y1 = Math.min(image.height, y0 + bandRows);
    const [c0, c1] = [Math.max(0, y0 - BAND_CONTEXT), Math.min(image.height, y1 + BAND_CONTEXT)];
    const band: Image = { ...image, height: c1 - c0, data: image.data.subarray(c0 * rowValues, c1 * rowValues) };
    const up = await upscaleWhole(band, upscaler, options);
    data.set(up.data.subarray((y0 - c0) * s * outRowValues, (y1 - c0) * s * outRowValues), y0 * s * outRowValues);
  }
  return { data, width: image.width * s, height: image.height * s, channels: image.channels, bitDepth: image.bitDepth };
}

async function upscaleWhole(image: Image, upscaler: Upscaler, options: UpscaleImageOptions): Promise<Image> {
  const { color, alpha, bitDepth } = splitImage(image);
  const factor = options.outscale ?? upscaler.scale;
  const [outH, outW] = [Math.max(1, Math.round(image.height * factor)), Math.max(1, Math.round(image.width * factor))];
  const toOutput = (t: tf.Tensor3D) => {
    if (t.shape[0] === outH && t.shape[1] === outW) return t;
    const resized = imresize(t, factor / upscaler.scale, { outHeight: outH, outWidth: outW });
    t.dispose();
    return resized;
  };
  const upscaleAlpha = async (a: tf.Tensor3D): Promise<tf.Tensor3D> => {
    const up =
      options.alpha === 'model'
        ? toOutput(await upscaleAlphaWithModel(a, upscaler))
        : imresize(a, factor, { outHeight: outH, outWidth: outW });
    const clipped = tf.clipByValue(up, 0, 1) as tf.Tensor3D;
    up.dispose();
    return clipped;
  };
  try {
    const sr = toOutput(await upscaler.upscale(color));
    let alphaSr: tf.Tensor3D | undefined;
    try {
      if (alpha) alphaSr = await upscaleAlpha(alpha);
      return await tensorsToImage(sr, alphaSr, bitDepth);
    } finally {
      tf.dispose([sr, alphaSr].filter((t): t is tf.Tensor3D => t !== undefined));
    }
  } finally {
    tf.dispose([color, alpha].filter((t): t is tf.Tensor3D => t !== undefined));
  }
}
