/**
 * What a job carries and what it returns. A job records every option that changes its output, and
 * its id is a hash of those options and the input file, so enqueuing the same work twice names
 * the same job (BullMQ keeps one job per id): re-enqueuing is idempotent.
 */
import * as fs from 'fs';
import { createHash } from 'crypto';
import type { TileSize } from '../infer/tile';
import type { AlphaMode, EngineChoice } from '../infer';
import type { WritableFormat } from '../image/io';
import type { MetricChannel, MetricName } from '../metrics';
import type { EvalImageResult } from '../infer/evaluate';
import type { Written } from './upscale-file';

/** Everything that decides which upscaler a job runs; workers cache upscalers by it. */
export interface UpscalerSpec {
  /** An interpolation kernel, a shipped model name, or an absolute checkpoint path. */
  model: string;
  /** Always resolved before enqueuing, so every worker runs the same scale. */
  scale: number;
  tile: TileSize;
  tilePad: number;
  engine: EngineChoice;
  ensemble: boolean;
}

/** One image of `sr upscale`: absolute paths on the storage every worker sees. */
export interface UpscaleJobData extends UpscalerSpec {
  kind: 'upscale';
  input: string;
  output: string;
  outscale?: number;
  alpha: AlphaMode;
  format?: WritableFormat;
  quality?: number;
}

/** One image of `sr eval`: scored by the worker, which returns the scores. */
export interface EvalJobData extends UpscalerSpec {
  kind: 'eval';
  file: string;
  channel: MetricChannel;
  /** --metrics: which scores (PSNR, SSIM, NIQE) the worker computes. */
  metrics?: MetricName[];
  /** --save-images: the worker writes the super-resolved PNG here. */
  saveDir?: string;
}

export type JobData = UpscaleJobData | EvalJobData;

/** Where a job ran, said in its result so the waiting command can report the engine. */
export interface RunInfo {
  engine: string;
  worker: string;
}

export interface UpscaleJobResult extends RunInfo {
  written: Written;
}

export interface EvalJobResult extends RunInfo {
  score: EvalImageResult;
}

export type JobResult = UpscaleJobResult | EvalJobResult;

/** The input file a job reads. */
export function jobInput(data: JobData): string {
  return data.kind === 'upscale' ? data.input : data.file;
}

/** JSON with sorted keys and no undefined values: equal options give equal text. */
function canonicalJson(value: Record<string, unknown>): string {
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return JSON.stringify(keys.map((k) => [k, value[k]]));
}

/**
 * The job id: a hash of the options and of the input's path, size and modification time, so an
 * input edited since the last run is a new job rather than a finished one. The kind prefix keeps
 * ids from being all digits, which BullMQ reserves for its own numbering.
 */
export function jobId(data: JobData): string {
  const stat = fs.statSync(jobInput(data), { throwIfNoEntry: false });
  const hash = createHash('sha256')
    .update(canonicalJson({ ...data }))
    .update(stat ? `\0${stat.size}\0${stat.mtimeMs}` : '\0missing')
    .digest('hex');
  return `${data.kind}-${hash.slice(0, 40)}`;
}
