/**
 * What a job does, with the same code as a local run: an upscale job is `upscaleFile`, an eval
 * job is `evaluateImage`. Each distinct upscaler (model, scale, tiling, engine, ensemble) is
 * loaded once and kept for the life of the process that runs the jobs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { firstLine } from '../core/errors';
import { buildUpscaler, type Upscaler } from '../infer';
import type { Device } from '../engines/onnx/device';
import type { BackendOptions } from '../runtime/tfjs';
import { evaluateImage } from '../infer/evaluate';
import type { EvalJobData, EvalJobResult, JobData, JobResult, UpscaleJobData, UpscaleJobResult, UpscalerSpec } from './jobs';
import { upscaleFile } from './upscale-file';
import { removeStaleTempFiles } from './temp-files';

/** What a machine decides for itself, not recorded in jobs: they change speed, not results. */
export interface MachineOptions {
  threads?: number;
  device?: Device;
}

/** The environment variable carrying a worker's options (JSON) to the processes running its jobs. */
export const SANDBOX_ENV = 'SR_QUEUE_SANDBOX';

export type SandboxOptions = BackendOptions & MachineOptions;

/** A name for the process in job results: host and process id. */
export function workerName(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** Upscalers by their spec, each loaded on first use; concurrent first uses share one load. */
export class UpscalerCache {
  private readonly loaded = new Map<string, Promise<Upscaler>>();

  constructor(private readonly machine: MachineOptions) {}

  get(spec: UpscalerSpec): Promise<Upscaler> {
    const { model, scale, tile, tilePad, engine, ensemble } = spec;
    const key = JSON.stringify([model, scale, tile, tilePad, engine, ensemble]);
    let upscaler = this.loaded.get(key);
    if (!upscaler) {
      upscaler = buildUpscaler({ model, scale, tile, tilePad, engine, ensemble, ...this.machine });
      // A model that failed to load is tried again by the next job rather than failing all of them.
      upscaler.catch(() => this.loaded.delete(key));
      this.loaded.set(key, upscaler);
    }
    return upscaler;
  }
}

async function runUpscaleJob(data: UpscaleJobData, upscaler: Upscaler, recovered: boolean): Promise<UpscaleJobResult> {
  // A worker killed while writing leaves its temporary file; the worker that takes the job over removes it.
  if (recovered) await removeStaleTempFiles(data.output);
  fs.mkdirSync(path.dirname(data.output), { recursive: true });
  const written = await upscaleFile(data.input, data.output, upscaler, data);
  return { written, engine: upscaler.engine?.active ?? 'tfjs', worker: workerName() };
}

async function runEvalJob(data: EvalJobData, upscaler: Upscaler, recovered: boolean): Promise<EvalJobResult> {
  if (data.saveDir) {
    fs.mkdirSync(data.saveDir, { recursive: true });
    if (recovered) await removeStaleTempFiles(path.join(data.saveDir, `${path.parse(data.file).name}.png`));
  }
  const score = await evaluateImage(data.file, upscaler, data.channel, data.saveDir, undefined, data.metrics);
  return { score, engine: upscaler.engine?.active ?? 'tfjs', worker: workerName() };
}

/**
 * Runs one job; `recovered` when it was taken over from a worker that died. Any error fails the
 * job with its first line, which `sr queue status` and `--wait` show.
 */
export async function runJob(data: JobData, recovered: boolean, cache: UpscalerCache): Promise<JobResult> {
  try {
    const upscaler = await cache.get(data);
    return data.kind === 'upscale' ? await runUpscaleJob(data, upscaler, recovered) : await runEvalJob(data, upscaler, recovered);
  } catch (err) {
    throw new Error(firstLine(err));
  }
}
