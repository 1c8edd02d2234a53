/**
 * `sr eval --queue URL --wait`: workers score the images (the same evaluateImage as a local run,
 * so the numbers are the same) and return the scores; this side puts them in dataset order and
 * averages them as `evaluate` does.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { EngineChoice } from '../infer';
import type { TileSize } from '../infer/tile';
import { degrade, imageName, type EvalImageResult, type EvalResult, type ScoredTensors } from '../infer/evaluate';
import { readImage } from '../image/io';
import { modcrop } from '../image/resize';
import { splitImage } from '../image/tensor';
import { meanScore, type MetricChannel, type MetricName } from '../metrics';
import { SrError } from '../core/errors';
import { notice, type OutputMode } from '../core/terminal';
import { displayUrl, openQueue } from './connection';
import { describeEnqueued, enqueueJobs } from './enqueue';
import type { EvalJobData, EvalJobResult } from './jobs';
import type { ModelIdentity } from './model';
import { waitForJobs } from './wait';

export interface EvalOverQueue {
  url: string;
  datasetName: string;
  images: string[];
  model: ModelIdentity;
  tile: TileSize;
  tilePad: number;
  engine: EngineChoice;
  ensemble?: boolean;
  channel: MetricChannel;
  metrics?: MetricName[];
  /** --save-images, on the storage the workers see. */
  saveDir?: string;
  mode: OutputMode;
  /** Each image's scores as its job finishes (for a progress bar). */
  onImage?: (result: EvalImageResult) => void;
  /** --report: sees each image's tensors, rebuilt from the images saved in `saveDir`. */
  collector?: { add(scored: ScoredTensors): Promise<void> };
}

export function evalJobData(file: string, req: EvalOverQueue): EvalJobData {
  return {
    kind: 'eval',
    file: path.resolve(file),
    model: req.model.ref,
    scale: req.model.scale,
    tile: req.tile,
    tilePad: req.tilePad,
    engine: req.engine,
    ensemble: Boolean(req.ensemble),
    channel: req.channel,
    metrics: req.metrics,
    saveDir: req.saveDir === undefined ? undefined : path.resolve(req.saveDir),
  };
}

/** The eval result a local run would give, and the engine the workers ran on. */
export async function scoreOverQueue(req: EvalOverQueue): Promise<{ result: EvalResult; engine: string }> {
  const queue = await openQueue(req.url);
  try {
    const { ids, counts } = await enqueueJobs(
      queue,
      req.images.map((file) => evalJobData(file, req)),
    );
    notice(req.mode, describeEnqueued(counts, ids.length, displayUrl(req.url)));
    const outcomes = await waitForJobs<EvalJobResult>(req.url, ids, (o) => {
      if (o.ok) req.onImage?.(o.result.score);
    });
    const failures = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
    if (failures.length) {
      throw new SrError(failures[0] + (failures.length > 1 ? ` (and ${failures.length - 1} more image(s) failed)` : ''));
    }
    const results = outcomes.map((o) => (o.ok ? o.result : undefined)).filter((r): r is EvalJobResult => r !== undefined);
    const images = results.map((r) => r.score);
    const result: EvalResult = {
      dataset: req.datasetName,
      model: req.model.name,
      scale: req.model.scale,
      channel: req.channel,
      mean: meanScore(images),
      images,
    };
    if (req.collector && req.saveDir) await collectSaved(req.images, images, req.saveDir, req.model.scale, req.collector);
    return { result, engine: results[0]?.engine ?? 'tfjs' };
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/**
 * For `--report` over the queue: an image's tensors rebuilt here as evaluateImage made them, the
 * super-resolved one read back from the PNG a worker saved (the report's crops are 8-bit, and that
 * PNG is the same 8-bit rounding of the same output, so the page is the same).
 */
export async function scoredFromSaved(file: string, saveDir: string, scale: number, score: EvalImageResult): Promise<ScoredTensors> {
  const { color, alpha } = splitImage(await readImage(file));
  alpha?.dispose();
  const hr = modcrop(color, scale);
  color.dispose();
  const saved = splitImage(await readImage(path.join(saveDir, `${imageName(file)}.png`)));
  saved.alpha?.dispose();
  return { name: score.name, file, hr, lr: degrade(hr, scale), sr: saved.color, score };
}

async function collectSaved(
  files: string[],
  scores: EvalImageResult[],
  saveDir: string,
  scale: number,
  collector: NonNullable<EvalOverQueue['collector']>,
): Promise<void> {
  for (const [i, file] of files.entries()) {
    const scored = await scoredFromSaved(file, saveDir, scale, scores[i]);
    try {
      await collector.add(scored);
    } finally {
      tf.dispose([scored.hr, scored.lr, scored.sr]);
    }
  }
}
