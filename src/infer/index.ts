/**
 * Finding an Upscaler by name: an interpolation kernel, a model with shipped weights
 * (`checkpoints/<name>-x<scale>`), or a checkpoint folder, on the engine asked for, tiled and
 * self-ensembled as asked. The whole-picture path around it (alpha, gray, bands) is pipeline.ts.
 */
import { useCuda, type Device } from '../engines/onnx/device';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SrError, UsageError } from '../core/errors';
import { RESIZE_KERNELS } from '../image/resize';
import { describeNetwork, findArchitecture, type ShownNetwork } from '../models';
import { backendInfo } from '../runtime/tfjs';
import { isCheckpointDir, loadCheckpoint, readCheckpointMeta, type CheckpointMeta } from '../checkpoint';
import { onnxCheckpointNetwork, type OnnxNetworkOptions } from '../engines/onnx/network';
import { interpolationUpscaler, isInterpolation } from './interpolation';
import { tiledUpscaler, type TileSize } from './tile';
import { ensembleUpscaler } from './ensemble';
import { engineUpscaler, modelUpscaler } from './model-upscaler';
import type { EngineChoice, EngineInfo, Upscaler } from './upscaler';
import { packagePath } from '../core/paths';

export { ENGINE_CHOICES, type EngineChoice, type EngineInfo, type Upscaler } from './upscaler';
export { interpolationUpscaler, isInterpolation } from './interpolation';
export { modelUpscaler, upscaleWithNetwork } from './model-upscaler';
export {
  ALPHA_MODEL_PAD,
  ALPHA_MODES,
  BAND_CONTEXT,
  BAND_OUTPUT_PIXELS,
  upscaleAlphaWithModel,
  upscaleImage,
  type AlphaMode,
  type UpscaleImageOptions,
} from './pipeline';

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
  /** ONNX Runtime's execution provider (engines/onnx/device.ts; default auto). */
  device?: Device;
}

export type EngineOptions = Pick<UpscalerRequest, 'engine' | 'threads' | 'device'>;

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
      return await onnxCheckpointUpscaler(dir, d, { threads: engineOptions.threads, requested, cuda: useCuda(engineOptions.device) });
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
  device?: Device;
  /** Called after each tile when an image is upscaled in tiles. */
  onTile?: (done: number, total: number) => void;
}

/** The model, tiled to bound memory, optionally self-ensembled (the ensemble runs per tile). */
export async function buildUpscaler(opts: BuildUpscalerOptions): Promise<Upscaler> {
  const base = await loadUpscaler({
    model: opts.model,
    scale: opts.scale,
    engine: opts.engine,
    threads: opts.threads,
    device: opts.device,
  });
  return tiledUpscaler(opts.ensemble ? ensembleUpscaler(base) : base, { tile: opts.tile, pad: opts.tilePad, onTile: opts.onTile });
}
