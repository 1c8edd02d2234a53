/**
 * Training one network with a pixel loss (SRCNN; SRResNet's pre-training): the loop decides when
 * to log, validate and save; the step is a plain function of a batch. A run folder holds `last/`
 * and `best/` checkpoints, `log.jsonl`, `curves.png` and the resolved `config.json`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { SupervisedConfig } from '../config/schema';
import { SrError, UsageError } from '../errors';
import { listImages } from '../data/datasets';
import { PatchSampler, type Batch } from '../data/patches';
import { loadTrainingSet } from '../data/training-set';
import { upscaleWithNetwork } from '../infer/model-upscaler';
import type { ModelDescription } from '../infer/model-upscaler';
import type { Upscaler } from '../infer/upscaler';
import { readImage } from '../image/io';
import { pixelLoss } from '../losses/pixel';
import { getModel, type ModelSpec } from '../models';
import { evaluate, minEvalSize } from '../metrics/evaluate';
import { Rng, type RngState } from '../util/rng';
import { writeFileAtomic } from '../util/atomic';
import { FORMAT, loadCheckpoint, readCheckpointMeta, recoverCheckpoint, saveCheckpoint, type CheckpointMeta, type NamedWeights } from './checkpoint';
import { appendLog, readLog, truncateLog, writeCurvesPng } from './log';
import { learningRateAt } from './schedule';

export type TrainEvent =
  | { type: 'loading'; done: number; total: number }
  | { type: 'skipped'; file: string; reason: string }
  | { type: 'start'; iteration: number; iterations: number; resumed: boolean; trainImages: number }
  | { type: 'step'; iteration: number; loss: number; lr: number; itPerSec: number }
  | { type: 'validation'; iteration: number; psnr: number; ssim: number; best: boolean }
  | { type: 'checkpoint'; iteration: number; which: 'last' | 'best'; dir: string }
  | { type: 'nan'; iteration: number; action: 'skip' | 'stop' };

export interface TrainRunOptions {
  config: SupervisedConfig;
  out: string;
  resume: boolean;
  /** A label stored in the checkpoint meta ('srcnn', 'srresnet'). */
  modelLabel?: string;
  onEvent?: (event: TrainEvent) => void;
  /** Polled between steps (SIGINT/SIGTERM): save `last` and return. */
  shouldStop?: () => boolean;
}

export interface TrainSummary {
  iteration: number;
  stoppedEarly: boolean;
  best?: { psnr: number; ssim: number; iteration: number };
  seconds: number;
  out: string;
}

interface RunState {
  iteration: number;
  rng: RngState;
  best?: { psnr: number; ssim: number; iteration: number };
  seconds: number;
}

type TrainableOptimizer = tf.Optimizer & { learningRate: number };

export function makeOptimizer(config: SupervisedConfig['train']): TrainableOptimizer {
  const opt = config.optimizer === 'sgd' ? tf.train.momentum(config.lr, config.momentum) : tf.train.adam(config.lr, 0.9, 0.999, 1e-8);
  return opt as unknown as TrainableOptimizer;
}

/** Crops the centre of a [N, H, W, C] target to the network's output size ('valid' padding). */
export function centreCrop(target: tf.Tensor4D, shrink: number): tf.Tensor4D {
  if (shrink === 0) return target;
  const [n, h, w, c] = target.shape;
  return target.slice([0, shrink, shrink, 0], [n, h - 2 * shrink, w - 2 * shrink, c]);
}

/** The variables a network trains, in a fixed order (optimizer slots are matched by position). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

/**
 * One optimisation step on a batch; returns the loss. The update is applied only when the loss is
 * finite, so a NaN batch leaves weights and optimizer slots untouched.
 */
export function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: Batch,
  shrink: number,
  loss: 'mse' | 'l1',
  vars: tf.Variable[],
): number {
  const { value, grads } = optimizer.computeGradients(
    () =>
      tf.tidy(() => {
        const x = tf.tensor4d(batch.input, batch.inputShape);
        const y = centreCrop(tf.tensor4d(batch.target, batch.targetShape), shrink);
        const out = model.apply(x, { training: true }) as tf.Tensor4D;
        return pixelLoss(loss, out, y);
      }),
    vars,
  );
  const result = value.dataSync()[0];
  // In `vars` order, as minimize() does: Adam matches its slots to variables by position.
  if (Number.isFinite(result)) optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
  tf.dispose([value, ...Object.values(grads)]);
  return result;
}

function describe(spec: ModelSpec, config: SupervisedConfig, label: string): ModelDescription {
  return { name: label, scale: config.scale, inputSpace: spec.inputSpace, inputIsUpsampled: spec.inputIsUpsampled, shrink: spec.shrink(config.network) };
}

/** Copies the weights of `config.init` into a fresh model (fine-tuning, e.g. x2 from an x3 SRCNN). */
async function initialiseFrom(model: tf.LayersModel, config: SupervisedConfig): Promise<void> {
  const dir = config.init!;
  const loaded = await loadCheckpoint(dir);
  try {
    const { meta } = loaded;
    if (meta.architecture !== config.model || JSON.stringify(meta.options) !== JSON.stringify(config.network)) {
      throw new SrError(`--init ${dir} holds ${meta.architecture} ${JSON.stringify(meta.options)}, which does not fit ${config.model} ${JSON.stringify(config.network)}`);
    }
    const weights = loaded.networks.model.getWeights();
    const shapes = model.getWeights().map((w) => w.shape.join('x'));
    if (weights.length !== shapes.length || weights.some((w, i) => w.shape.join('x') !== shapes[i])) {
      throw new SrError(`--init ${dir}: its weights do not fit this ${config.model} x${config.scale} network`);
    }
    model.setWeights(weights);
  } finally {
    loaded.networks.model.dispose();
  }
}

function checkCompatible(meta: CheckpointMeta, config: SupervisedConfig, dir: string): void {
  if (meta.architecture !== config.model) {
    throw new SrError(`checkpoint ${dir} holds a ${meta.architecture} network, but the config trains ${config.model}`);
  }
  if (meta.scale !== config.scale) throw new SrError(`checkpoint ${dir} was trained for x${meta.scale}, but the config asks for x${config.scale}`);
  if (JSON.stringify(meta.options) !== JSON.stringify(config.network)) {
    throw new SrError(`checkpoint ${dir} has network options ${JSON.stringify(meta.options)}, the config ${JSON.stringify(config.network)}`);
  }
}

/**
 * The first `limit` images that decode and are big enough to score at `scale`, so a bad validation
 * file is skipped once, with a warning, instead of failing the first validation after training.
 */
async function readableImages(files: string[], limit: number | undefined, scale: number, emit: (e: TrainEvent) => void): Promise<string[]> {
  const good: string[] = [];
  const min = minEvalSize(scale);
  for (const file of files) {
    if (limit !== undefined && good.length >= limit) break;
    try {
      const image = await readImage(file);
      if (Math.min(image.width, image.height) < min) {
        emit({ type: 'skipped', file, reason: `smaller than the ${min}x${min} pixels needed to score it at x${scale}` });
        continue;
      }
      good.push(file);
    } catch (err) {
      if (!(err instanceof SrError)) throw err;
      emit({ type: 'skipped', file, reason: err.message });
    }
  }
  return good;
}

export async function trainSupervised(options: TrainRunOptions): Promise<TrainSummary> {
  const { config, out } = options;
  const emit = options.onEvent ?? (() => undefined);
  const spec = getModel(config.model);
  if (!spec.scales.includes(config.scale)) throw new UsageError(`${spec.name} does not support x${config.scale}`);
  const label = options.modelLabel ?? spec.name;
  const lastDir = path.join(out, 'last');
  const bestDir = path.join(out, 'best');
  const logFile = path.join(out, 'log.jsonl');
  // A run killed inside a checkpoint write may have left temp folders, or (between two renames) no
  // last/ at all but its finished copy beside it.
  await recoverCheckpoint(lastDir);
  await recoverCheckpoint(bestDir);
  // Checkpoint folders only ever appear complete, so a last/ that does not verify was damaged after
  // the fact: it is reported by loadCheckpoint, never silently replaced by a fresh start.
  const hasRun = fs.existsSync(lastDir);
  if (hasRun && !options.resume) {
    throw new UsageError(`${out} already holds a training run: add --resume to continue it, or choose another --out`);
  }
  // Refuse a checkpoint of another architecture or scale before spending minutes on the data.
  if (hasRun) checkCompatible(readCheckpointMeta(lastDir), config, lastDir);
  fs.mkdirSync(out, { recursive: true });

  const shrink = spec.shrink(config.network);
  const patch = config.data.patch_size;
  const upsampled = spec.inputIsUpsampled;
  const minHr = upsampled ? patch : patch * config.scale;
  const pairs = await loadTrainingSet(config.data.train, {
    scale: config.scale,
    space: spec.inputSpace,
    inputIsUpsampled: upsampled,
    minHrSize: minHr,
    onSkip: (file, reason) => emit({ type: 'skipped', file, reason }),
    onLoad: (done, total) => emit({ type: 'loading', done, total }),
  });
  const sampler = new PatchSampler(pairs, { inputSize: patch, scale: upsampled ? 1 : config.scale, batchSize: config.data.batch_size, augment: config.data.augment });
  const valImages = config.data.val ? await readableImages(listImages(config.data.val), config.data.val_images, config.scale, emit) : [];

  let model: tf.LayersModel;
  const optimizer = makeOptimizer(config.train);
  let state: RunState;
  if (hasRun) {
    const loaded = await loadCheckpoint(lastDir);
    checkCompatible(loaded.meta, config, lastDir);
    model = loaded.networks.model;
    const slots = loaded.optimizers.model;
    if (slots) {
      await optimizer.setWeights(slots);
      tf.dispose(slots.map((s) => s.tensor));
    }
    state = loaded.state as unknown as RunState;
    await truncateLog(logFile, state.iteration);
  } else {
    model = spec.build(config.network, config.scale, config.train.seed);
    if (config.init) await initialiseFrom(model, config);
    state = { iteration: 0, rng: new Rng(config.train.seed).state(), seconds: 0 };
    fs.rmSync(logFile, { force: true });
  }
  await writeFileAtomic(path.join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  const vars = trainableVariables(model);
  const rng = new Rng(state.rng);
  const description = describe(spec, config, label);
  const started = Date.now() - state.seconds * 1000;
  const elapsed = () => (Date.now() - started) / 1000;

  const meta = (validation?: CheckpointMeta['validation']): CheckpointMeta => ({
    format: FORMAT,
    architecture: spec.name,
    model: label,
    options: config.network,
    scale: config.scale,
    inputSpace: spec.inputSpace,
    inputIsUpsampled: spec.inputIsUpsampled,
    channels: spec.inputSpace === 'y' ? 1 : 3,
    training: { data: config.data.train, val: config.data.val, iterations: state.iteration, seconds: Math.round(elapsed()), config },
    validation: validation ?? (state.best && { dataset: config.data.val ?? '', ...state.best }),
    createdAt: new Date().toISOString(),
  });

  // The iteration last/ holds, named when training stops on a non-finite loss.
  let lastSaved: number | undefined = hasRun ? state.iteration : undefined;
  const save = async (which: 'last' | 'best', validation?: CheckpointMeta['validation']) => {
    state.rng = rng.state();
    state.seconds = elapsed();
    const slots = (await optimizer.getWeights()) as NamedWeights[];
    try {
      await saveCheckpoint(which === 'last' ? lastDir : bestDir, { meta: meta(validation), networks: { model }, optimizers: { model: slots }, state: { ...state } });
    } finally {
      // getWeights hands out the live slot variables plus one fresh 'iter' scalar.
      slots.filter((s) => s.name === 'iter').forEach((s) => s.tensor.dispose());
    }
    if (which === 'last') lastSaved = state.iteration;
    emit({ type: 'checkpoint', iteration: state.iteration, which, dir: which === 'last' ? lastDir : bestDir });
  };

  const validate = async () => {
    const upscaler: Upscaler = {
      name: label,
      scale: config.scale,
      upscale: async (lr) => upscaleWithNetwork(model, description, lr),
      dispose: () => undefined,
    };
    const result = await evaluate({ datasetName: config.data.val ?? '', images: valImages, upscaler });
    const isBest = !state.best || result.mean.psnr > state.best.psnr;
    if (isBest) state.best = { psnr: result.mean.psnr, ssim: result.mean.ssim, iteration: state.iteration };
    appendLog(logFile, { iter: state.iteration, val_psnr: result.mean.psnr, val_ssim: result.mean.ssim });
    emit({ type: 'validation', iteration: state.iteration, psnr: result.mean.psnr, ssim: result.mean.ssim, best: isBest });
    await writeCurvesPng(path.join(out, 'curves.png'), readLog(logFile), [
      { key: 'loss', label: `training loss (${config.train.loss})`, logY: true },
      { key: 'val_psnr', label: 'validation PSNR (dB, Y)' },
    ]);
    return isBest ? { dataset: config.data.val ?? '', psnr: result.mean.psnr, ssim: result.mean.ssim, iteration: state.iteration } : undefined;
  };

  emit({ type: 'start', iteration: state.iteration, iterations: config.train.iterations, resumed: hasRun, trainImages: pairs.length });
  let lossSum = 0;
  let lossCount = 0;
  let windowStart = Date.now();
  let windowIters = 0;
  let stoppedEarly = false;
  while (state.iteration < config.train.iterations) {
    // Steps are synchronous: without a turn of the event loop here, a SIGINT/SIGTERM handler would
    // only run at the next checkpoint write, possibly thousands of iterations later.
    await new Promise((resolve) => setImmediate(resolve));
    if (options.shouldStop?.()) {
      stoppedEarly = true;
      break;
    }
    const lr = learningRateAt(config.train.lr, config.train.schedule, state.iteration);
    optimizer.learningRate = lr;
    const batch = sampler.next(rng);
    const loss = trainStep(model, optimizer, batch, shrink, config.train.loss, vars);
    const finite = Number.isFinite(loss);
    if (!finite) {
      const action = config.train.on_nan;
      emit({ type: 'nan', iteration: state.iteration + 1, action });
      if (action === 'stop') {
        const kept = lastSaved === undefined ? 'no checkpoint was saved before it' : `last good checkpoint: ${lastDir}, iteration ${lastSaved}`;
        throw new SrError(`loss became ${loss} at iteration ${state.iteration + 1}; stopped (${kept}; --on-nan skip ignores such batches)`);
      }
    }
    // A skipped batch still counts as an iteration, and still reaches the log/validate/save points
    // below: skipping the last iteration must not skip the final checkpoint.
    state.iteration++;
    windowIters++;
    if (finite) {
      lossSum += loss;
      lossCount++;
    }
    const it = state.iteration;
    if ((it % config.train.log_every === 0 || it === config.train.iterations) && lossCount > 0) {
      const itPerSec = (windowIters * 1000) / Math.max(1, Date.now() - windowStart);
      appendLog(logFile, { iter: it, loss: lossSum / lossCount, lr, it_per_s: Number(itPerSec.toFixed(3)), time: Number(elapsed().toFixed(1)) });
      emit({ type: 'step', iteration: it, loss: lossSum / lossCount, lr, itPerSec });
      lossSum = 0;
      lossCount = 0;
      windowStart = Date.now();
      windowIters = 0;
    }
    const validateNow = valImages.length > 0 && (it % config.train.val_every === 0 || it === config.train.iterations);
    if (validateNow) {
      const bestScore = await validate();
      if (bestScore) await save('best', bestScore);
    }
    if (validateNow || it % config.train.save_every === 0 || it === config.train.iterations) await save('last');
  }
  if (stoppedEarly) await save('last');
  return { iteration: state.iteration, stoppedEarly, best: state.best, seconds: elapsed(), out };
}
