/**
 * `sr upscale DIR --queue URL`: one job per image of the folder plan the command made, and with
 * `--wait`, the results gathered into the summary a local folder run prints.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { AlphaMode, EngineChoice } from '../infer';
import type { TileSize } from '../infer/tile';
import type { WritableFormat } from '../image/io';
import { notice, progressBar, type OutputMode } from '../core/terminal';
import { displayUrl, openQueue } from './connection';
import { describeEnqueued, enqueueJobs, type EnqueueCounts } from './enqueue';
import type { UpscaleJobData, UpscaleJobResult } from './jobs';
import type { ModelIdentity } from './model';
import type { Written } from './upscale-file';
import { waitForJobs, type Outcome } from './wait';

/** The options of `sr upscale` that change an output. */
export interface UpscaleJobOptions {
  tile: TileSize;
  tilePad: number;
  engine: EngineChoice;
  ensemble?: boolean;
  outscale?: number;
  alpha: AlphaMode;
  format?: WritableFormat;
  quality?: number;
  skipExisting?: boolean;
}

/** One input of the folder and the output the local run would write for it. */
export interface PlannedFile {
  input: string;
  output: string;
}

/** What a folder run reports, locally or over the queue. */
export interface FolderResult {
  written: Written[];
  skipped: string[];
  failed: { input: string; error: string }[];
  /** The engine the images ran on (absent when none ran). */
  engine?: string;
}

export interface QueuedUpscale {
  url: string;
  wait: boolean;
  mode: OutputMode;
}

export function upscaleJobData(file: PlannedFile, model: ModelIdentity, opts: UpscaleJobOptions): UpscaleJobData {
  return {
    kind: 'upscale',
    input: path.resolve(file.input),
    output: path.resolve(file.output),
    model: model.ref,
    scale: model.scale,
    tile: opts.tile,
    tilePad: opts.tilePad,
    engine: opts.engine,
    ensemble: Boolean(opts.ensemble),
    outscale: opts.outscale,
    alpha: opts.alpha,
    format: opts.format,
    quality: opts.quality,
  };
}

/** Outcomes back in the plan's terms: the paths as the command named them, in its order. */
function folderResult(files: PlannedFile[], outcomes: Outcome<UpscaleJobResult>[], skipped: string[]): FolderResult {
  const result: FolderResult = { written: [], skipped, failed: [] };
  outcomes.forEach((outcome, i) => {
    const { input, output } = files[i];
    if (!outcome.ok) return void result.failed.push({ input, error: outcome.error });
    result.written.push({ ...outcome.result.written, input, output });
    result.engine ??= outcome.result.engine;
  });
  return result;
}

/**
 * Enqueues the planned files (minus existing outputs with --skip-existing) and says how many were
 * queued; with `wait`, also the folder result once every job has finished.
 */
export async function upscaleOverQueue(
  files: PlannedFile[],
  model: ModelIdentity,
  opts: UpscaleJobOptions,
  queued: QueuedUpscale,
): Promise<{ result?: FolderResult; counts: EnqueueCounts; jobs: number; skipped: number }> {
  const skipped = opts.skipExisting ? files.filter((f) => fs.existsSync(f.output)).map((f) => f.input) : [];
  const todo = opts.skipExisting ? files.filter((f) => !fs.existsSync(f.output)) : files;
  const queue = await openQueue(queued.url);
  try {
    // Made once Redis has answered, so a run that cannot enqueue leaves nothing behind.
    for (const dir of new Set(files.map((f) => path.dirname(f.output)))) fs.mkdirSync(dir, { recursive: true });
    const { ids, counts } = await enqueueJobs(
      queue,
      todo.map((f) => upscaleJobData(f, model, opts)),
    );
    notice(
      queued.mode,
      describeEnqueued(counts, todo.length, displayUrl(queued.url)) + (skipped.length ? `, skipped ${skipped.length} existing` : ''),
    );
    if (!queued.wait) return { counts, jobs: todo.length, skipped: skipped.length };
    const bar = progressBar(queued.mode, 'upscale', '{file}');
    bar.start(ids.length, { file: '' });
    try {
      const outcomes = await waitForJobs<UpscaleJobResult>(queued.url, ids, (o) =>
        bar.increment({ file: o.ok ? path.basename(o.result.written.input) : '' }),
      );
      return { result: folderResult(todo, outcomes, skipped), counts, jobs: todo.length, skipped: skipped.length };
    } finally {
      bar.stop();
    }
  } finally {
    await queue.close().catch(() => undefined);
  }
}
