/**
 * A training run, whatever is trained: the run folder (`last/` and `best/` checkpoints, `log.jsonl`,
 * `curves.png`, `strips/`, the resolved `config.json`), the data, the loop that decides when to
 * log, validate, save and stop, and exact resume. What one step does is a TrainingTask (task.ts),
 * built by a recipe (recipes/).
 *
 * runTraining reads as its parts: open the run folder, load the data, restore or build the task,
 * then the loop, whose validate, save and log are functions over one RunContext.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../config/schema';
import { SrError, UsageError } from '../core/errors';
import { listImages } from '../data/datasets';
import { PatchSampler } from '../data/patches';
import { loadTrainingSet } from '../data/training-set';
import { upscaleWithNetwork } from '../infer/model-upscaler';
import type { Upscaler } from '../infer/upscaler';
import { readImage } from '../image/io';
import { describeNetwork, sameNetwork, type NetworkDescription } from '../models';
import { evaluate, minEvalSize } from '../infer/evaluate';
import { Rng, type RngState } from '../core/rng';
import { writeFileAtomic } from '../core/atomic';
import {
  FORMAT,
  loadCheckpoint,
  readCheckpointMeta,
  recoverCheckpoint,
  saveCheckpoint,
  type CheckpointMeta,
  type InitOrigin,
  type NamedWeights,
} from '../checkpoint';
import { appendLog, readLog, truncateLog, writeCurvesPng } from './log';
import { bestRule, isNewBest, meanNiqe, type ValidationScore } from './best';
import { niqeMinimum, niqeScorable, validationNiqe } from './validation';
import { learningRateAt } from './schedule';
import { stripCrop, writeStrip, type StripCrop } from './strip';
import { restoreOptimizer, type StepLosses, type TaskFactory, type TrainingTask } from './task';
import type { DeviceChoice, TrainingEngineChoice } from './engine';

export type TrainEvent =
  | { type: 'loading'; done: number; total: number }
  | { type: 'skipped'; file: string; reason: string }
  | { type: 'start'; iteration: number; iterations: number; resumed: boolean; trainImages: number }
  /** `loss` is what is minimised (the generator's total for a GAN); `losses` has every term. */
  | { type: 'step'; iteration: number; loss: number; losses: StepLosses; lr: number; itPerSec: number }
  /** Means over the validation images; `niqe` when train.val_metrics asks for it and it is defined. */
  | { type: 'validation'; iteration: number; psnr: number; ssim: number; niqe?: number; best: boolean }
  | { type: 'checkpoint'; iteration: number; which: 'last' | 'best'; dir: string }
  | { type: 'strip'; iteration: number; file: string }
  | { type: 'nan'; iteration: number; action: 'skip' | 'stop' }
  /** The engine running the steps, and why 'auto' did not pick onnx when it did not. */
  | { type: 'engine'; engine: string; note?: string }
  /** Something the run goes on without: a validation image too small for NIQE, a validation without NIQE. */
  | { type: 'warning'; message: string; file?: string; iteration?: number };

export interface TrainRunOptions {
  config: TrainingConfig;
  out: string;
  resume: boolean;
  /** What the weights are known as, stored in the checkpoint meta ('srcnn', 'srresnet', 'srgan'). */
  modelLabel?: string;
  onEvent?: (event: TrainEvent) => void;
  /** Polled between steps (SIGINT/SIGTERM): save `last` and return. */
  shouldStop?: () => boolean;
  /** The training engine (engine.ts; default auto), ONNX Runtime's device and threads. */
  engine?: TrainingEngineChoice;
  device?: DeviceChoice;
  threads?: number;
}

export interface TrainSummary {
  iteration: number;
  stoppedEarly: boolean;
  best?: ValidationScore;
  seconds: number;
  out: string;
}

interface RunState {
  iteration: number;
  rng: RngState;
  /** The validation best/ holds (train.best_by chose it); a run from before NIQE has no `niqe` here. */
  best?: ValidationScore;
  seconds: number;
  /** Kept from the fresh start: the init folder's weights (e.g. a run's best/) may have moved on since. */
  init?: InitOrigin;
}

/**
 * When a config names no `val`, a tenth of the (first) training folder's images, at most this many,
 * validate and are held out of training; a folder of fewer than ten images trains whole, unvalidated.
 */
export const DEFAULT_HELD_OUT_IMAGES = 10;

type Emit = (event: TrainEvent) => void;

/** Where a run lives, and whether it already holds one to resume. */
interface RunFolder {
  out: string;
  lastDir: string;
  bestDir: string;
  logFile: string;
  hasRun: boolean;
}

interface RunData {
  valImages: string[];
  /** Those of valImages NIQE is measured on (all that are big enough), when train.val_metrics has niqe. */
  niqeImages: Set<string>;
  trainImages: number;
  sampler: PatchSampler;
}

/** Everything the loop's parts share. */
interface RunContext {
  config: TrainingConfig;
  label: string;
  network: NetworkDescription;
  folder: RunFolder;
  data: RunData;
  task: TrainingTask;
  state: RunState;
  rng: Rng;
  emit: Emit;
  upscaler: Upscaler;
  strip?: StripCrop;
  /** The run's clock: seconds trained so far, across resumes. */
  elapsed: () => number;
  /** The iteration last/ holds, named when training stops on a non-finite loss. */
  lastSaved?: number;
  /** Loss terms seen so far, in order (curves.png plots them). */
  lossNames: string[];
}

function checkCompatible(meta: CheckpointMeta, config: TrainingConfig, label: string, dir: string): void {
  if (meta.architecture !== config.model) {
    throw new UsageError(`checkpoint ${dir} holds a ${meta.architecture} network, but the config trains ${config.model}`);
  }
  // The same generator is trained as 'srresnet' (pixel loss) and as 'srgan' (adversarial): a run
  // folder belongs to one of them.
  if (meta.model !== label) throw new UsageError(`${dir} is a ${meta.model} run, not a ${label} one; choose another --out`);
  if (meta.scale !== config.scale)
    throw new UsageError(`checkpoint ${dir} was trained for x${meta.scale}, but the config asks for x${config.scale}`);
  if (!sameNetwork(config.model, meta.options, config.network)) {
    throw new UsageError(
      `checkpoint ${dir} has network options ${JSON.stringify(meta.options)}, the config ${JSON.stringify(config.network)}`,
    );
  }
}

/**
 * The run folder, recovered after a writer killed mid-checkpoint, and checked before minutes go into
 * the data: a run that exists needs --resume, and must fit the config and not be at its target yet.
 */
async function openRunFolder(options: TrainRunOptions, label: string): Promise<RunFolder> {
  const { config, out } = options;
  const folder = {
    out,
    lastDir: path.join(out, 'last'),
    bestDir: path.join(out, 'best'),
    logFile: path.join(out, 'log.jsonl'),
  };
  // A run killed inside a checkpoint write may have left temp folders, or (between two renames) no
  // last/ at all but its finished copy beside it.
  await recoverCheckpoint(folder.lastDir);
  await recoverCheckpoint(folder.bestDir);
  // Checkpoint folders only ever appear complete, so a last/ that does not verify was damaged after
  // the fact: it is reported by loadCheckpoint, never silently replaced by a fresh start.
  const hasRun = fs.existsSync(folder.lastDir);
  if (hasRun && !options.resume) {
    throw new UsageError(`${out} already holds a training run: add --resume to continue it, or choose another --out`);
  }
  if (hasRun) {
    const lastMeta = readCheckpointMeta(folder.lastDir);
    checkCompatible(lastMeta, config, label, folder.lastDir);
    const done = lastMeta.training?.iterations ?? 0;
    if (done >= config.train.iterations) {
      throw new UsageError(
        `${out} has trained ${done} iterations already (target ${config.train.iterations}): give a larger --iterations to train on`,
      );
    }
  }
  fs.mkdirSync(out, { recursive: true });
  return { ...folder, hasRun };
}

interface ImageSize {
  file: string;
  width: number;
  height: number;
}

/**
 * The first `limit` images that decode and are big enough to score at `scale`, so a bad validation
 * file is skipped once, with a warning, instead of failing the first validation after training.
 */
async function readableImages(files: string[], limit: number | undefined, scale: number, emit: Emit): Promise<ImageSize[]> {
  const good: ImageSize[] = [];
  const min = minEvalSize(scale);
  for (const file of files) {
    if (limit !== undefined && good.length >= limit) break;
    try {
      const image = await readImage(file);
      if (Math.min(image.width, image.height) < min) {
        emit({ type: 'skipped', file, reason: `smaller than the ${min}x${min} pixels needed to score it at x${scale}` });
        continue;
      }
      good.push({ file, width: image.width, height: image.height });
    } catch (err) {
      if (!(err instanceof SrError)) throw err;
      emit({ type: 'skipped', file, reason: err.message });
    }
  }
  return good;
}

/** Where validation images come from: `val` (its first val_images), else images held out of the training data. */
function validationSource(config: TrainingConfig): { dir: string; limit?: number } {
  if (config.data.val) return { dir: config.data.val, limit: config.data.val_images };
  const firstTraining = [config.data.train ?? []].flat()[0];
  if (!firstTraining) throw new UsageError('no training images: give --data FOLDER');
  const heldOut = Math.min(DEFAULT_HELD_OUT_IMAGES, Math.floor(listImages(firstTraining).length / 10));
  return { dir: firstTraining, limit: config.data.val_images ?? heldOut };
}

/**
 * The validation images NIQE is measured on, when asked: those big enough for its blocks, each
 * other one a warning. None big enough is a usage error, said before the training data loads.
 */
function niqeImagesOf(images: ImageSize[], config: TrainingConfig, warn: Emit): Set<string> {
  if (!config.train.val_metrics.includes('niqe') || images.length === 0) return new Set();
  const scale = config.scale;
  const fit = images.filter((image) => niqeScorable(image.width, image.height, scale));
  if (fit.length === 0) {
    throw new UsageError(
      `train.val_metrics has niqe, but none of the ${images.length} validation images is big enough for it at x${scale} (it needs ${niqeMinimum(scale)}): validate on larger images, or drop niqe`,
    );
  }
  for (const image of images.filter((i) => !fit.includes(i))) {
    warn({
      type: 'warning',
      file: image.file,
      message: `${image.file}: ${image.width}x${image.height} is too small for NIQE at x${scale} (${niqeMinimum(scale)}): validation NIQE is the mean over the other ${fit.length}`,
    });
  }
  return new Set(fit.map((i) => i.file));
}

/** Validation images and training patches, in the order the run warns about them. */
async function loadRunData(config: TrainingConfig, network: NetworkDescription, emit: Emit): Promise<RunData> {
  const patch = config.data.patch_size;
  const upsampled = network.inputIsUpsampled;
  const val = validationSource(config);
  // Validation images are picked first (a counted subset is held out of training, below); their
  // warnings follow the training set's, in the order the run uses them.
  const valWarnings: TrainEvent[] = [];
  const valSizes = await readableImages(listImages(val.dir), val.limit, config.scale, (e) => valWarnings.push(e));
  const valImages = valSizes.map((i) => i.file);
  const niqeImages = niqeImagesOf(valSizes, config, (e) => valWarnings.push(e));
  const pairs = await loadTrainingSet(config.data.train ?? [], {
    scale: config.scale,
    space: network.inputSpace,
    inputIsUpsampled: upsampled,
    minHrSize: upsampled ? patch : patch * config.scale,
    // A counted validation subset (val_images, or the held-out default) is held out of training
    // when its folder trains too. A whole folder named as both stays in both, as asked.
    exclude: val.limit === undefined ? undefined : new Set(valImages.map((f) => path.resolve(f))),
    onSkip: (file, reason) => emit({ type: 'skipped', file, reason }),
    onLoad: (done, total) => emit({ type: 'loading', done, total }),
  });
  for (const warning of valWarnings) emit(warning);
  const sampler = new PatchSampler(pairs, {
    inputSize: patch,
    scale: upsampled ? 1 : config.scale,
    batchSize: config.data.batch_size,
    augment: config.data.augment,
  });
  return { valImages, niqeImages, trainImages: pairs.length, sampler };
}

/** The task and the run's state: restored from last/ (weights, optimizer slots, RNG), or fresh. */
async function startTask(
  folder: RunFolder,
  config: TrainingConfig,
  label: string,
  roles: string[],
  createTask: TaskFactory,
): Promise<{ task: TrainingTask; state: RunState }> {
  if (!folder.hasRun) {
    const task = await createTask(undefined);
    fs.rmSync(folder.logFile, { force: true });
    return { task, state: { iteration: 0, rng: new Rng(config.train.seed).state(), seconds: 0, init: task.init } };
  }
  const loaded = await loadCheckpoint(folder.lastDir, roles);
  checkCompatible(loaded.meta, config, label, folder.lastDir);
  const task = await createTask(loaded);
  for (const [role, optimizer] of Object.entries(task.optimizers)) {
    const slots = loaded.optimizers[role];
    if (!slots) continue;
    await restoreOptimizer(optimizer, slots);
    tf.dispose(slots.map((s) => s.tensor));
  }
  const state = loaded.state as unknown as RunState;
  await truncateLog(folder.logFile, state.iteration);
  return { task, state };
}

function disposeTask(task: TrainingTask): void {
  task.dispose();
  for (const network of [task.network, ...Object.values(task.companions)]) network.dispose();
  for (const optimizer of Object.values(task.optimizers)) optimizer.dispose();
}

export async function runTraining(options: TrainRunOptions, roles: string[], createTask: TaskFactory): Promise<TrainSummary> {
  const { config } = options;
  const emit = options.onEvent ?? (() => undefined);
  const network = describeNetwork(config.model, config.network, config.scale);
  const label = options.modelLabel ?? network.architecture;
  const folder = await openRunFolder(options, label);
  const data = await loadRunData(config, network, emit);
  const { task, state } = await startTask(folder, config, label, roles, createTask);
  emit({ type: 'engine', engine: task.engine?.name ?? 'tfjs', note: task.engine?.note });
  const strip = data.valImages.length > 0 ? await stripCrop(data.valImages[0], config.scale) : undefined;
  try {
    await writeFileAtomic(path.join(folder.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const started = Date.now() - state.seconds * 1000;
    const shown = { name: label, ...network };
    const context: RunContext = {
      config,
      label,
      network,
      folder,
      data,
      task,
      state,
      rng: new Rng(state.rng),
      emit,
      strip,
      elapsed: () => (Date.now() - started) / 1000,
      lastSaved: folder.hasRun ? state.iteration : undefined,
      lossNames: [],
      upscaler: {
        name: label,
        scale: config.scale,
        upscale: async (lr) => upscaleWithNetwork(task.network, shown, lr),
        dispose: () => undefined,
      },
    };
    return await trainingLoop(context, options.shouldStop);
  } finally {
    if (strip) tf.dispose([strip.hr, strip.lr]);
    disposeTask(task);
  }
}

function checkpointMeta(ctx: RunContext, validation?: CheckpointMeta['validation']): CheckpointMeta {
  const { config, network, state } = ctx;
  return {
    format: FORMAT,
    architecture: network.architecture,
    model: ctx.label,
    options: network.options,
    scale: network.scale,
    inputSpace: network.inputSpace,
    inputIsUpsampled: network.inputIsUpsampled,
    channels: network.inputSpace === 'y' ? 1 : 3,
    training: {
      data: config.data.train ?? [],
      val: config.data.val,
      iterations: state.iteration,
      seconds: Math.round(ctx.elapsed()),
      config,
      init: state.init,
    },
    // These weights' own score: a checkpoint saved between validations has none (the run's best
    // is in state.json), so a shipped `last/` never claims another checkpoint's score.
    validation,
    createdAt: new Date().toISOString(),
  };
}

async function saveRunCheckpoint(ctx: RunContext, which: 'last' | 'best', validation?: CheckpointMeta['validation']): Promise<void> {
  const { state, task, folder } = ctx;
  await task.sync?.();
  state.rng = ctx.rng.state();
  state.seconds = ctx.elapsed();
  const slots: Record<string, NamedWeights[]> = {};
  for (const [role, optimizer] of Object.entries(task.optimizers)) slots[role] = (await optimizer.getWeights()) as NamedWeights[];
  const dir = which === 'last' ? folder.lastDir : folder.bestDir;
  try {
    await saveCheckpoint(dir, {
      meta: checkpointMeta(ctx, validation),
      networks: { model: task.network, ...task.companions },
      optimizers: slots,
      state: { ...state },
    });
  } finally {
    // getWeights hands out the live slot variables plus one fresh 'iter' scalar.
    for (const weights of Object.values(slots)) weights.filter((s) => s.name === 'iter').forEach((s) => s.tensor.dispose());
  }
  if (which === 'last') ctx.lastSaved = state.iteration;
  ctx.emit({ type: 'checkpoint', iteration: state.iteration, which, dir });
}

/** Loss terms plotted in curves.png, then the validation PSNR (and NIQE when measured). */
function curveFields(config: TrainingConfig, losses: string[]) {
  const label = (key: string) =>
    key === 'loss' ? `training loss (${config.gan ? 'generator total' : config.train.loss})` : key.replace(/_/g, ' ');
  return [
    ...losses.map((key) => ({ key, label: label(key), logY: true })),
    { key: 'val_psnr', label: 'validation PSNR (dB, Y)' },
    ...(config.train.val_metrics.includes('niqe') ? [{ key: 'val_niqe', label: 'validation NIQE (Y, lower is more natural)' }] : []),
  ];
}

/**
 * Scores the validation images: PSNR and SSIM means, and the mean NIQE over the images big enough
 * for it (undefined, with a warning, when it is undefined on one of them).
 */
async function scoreValidation(ctx: RunContext): Promise<ValidationScore> {
  const { config, state, data } = ctx;
  const iteration = state.iteration;
  const niqes: (number | undefined)[] = [];
  const result = await evaluate({
    datasetName: config.data.val ?? '',
    images: data.valImages,
    upscaler: ctx.upscaler,
    onScored: ({ sr, file }) => {
      if (!data.niqeImages.has(file)) return;
      const { niqe, reason } = validationNiqe(sr, config.scale);
      niqes.push(niqe);
      if (reason) ctx.emit({ type: 'warning', file, iteration, message: `${file}: ${reason}; this validation has no NIQE` });
    },
  });
  const { psnr, ssim } = result.mean;
  const niqe = data.niqeImages.size > 0 ? meanNiqe(niqes) : undefined;
  return { psnr, ssim, ...(niqe === undefined ? {} : { niqe }), iteration };
}

async function validate(ctx: RunContext): Promise<{ isBest: boolean; score: NonNullable<CheckpointMeta['validation']> }> {
  const { config, state, folder } = ctx;
  await ctx.task.sync?.();
  const score = await scoreValidation(ctx);
  const { psnr, ssim, niqe, iteration } = score;
  const isBest = isNewBest(score, state.best, bestRule(config.train));
  if (isBest) state.best = score;
  appendLog(folder.logFile, { iter: iteration, val_psnr: psnr, val_ssim: ssim, val_niqe: niqe });
  ctx.emit({ type: 'validation', iteration, psnr, ssim, ...(niqe === undefined ? {} : { niqe }), best: isBest });
  const fields = curveFields(config, ctx.lossNames.length ? ctx.lossNames : ['loss']);
  await writeCurvesPng(path.join(folder.out, 'curves.png'), readLog(folder.logFile), fields);
  return { isBest, score: { dataset: config.data.val ?? '', ...score } };
}

async function saveStrip(ctx: RunContext, strip: StripCrop): Promise<void> {
  await ctx.task.sync?.();
  const file = path.join(ctx.folder.out, 'strips', `iter-${String(ctx.state.iteration).padStart(7, '0')}.png`);
  await writeStrip(file, strip, ctx.upscaler);
  ctx.emit({ type: 'strip', iteration: ctx.state.iteration, file });
}

/** Running means of each loss term between two log lines, and the step rate over that window. */
class LossWindow {
  private sums: Record<string, number> = {};
  private count = 0;
  private iterations = 0;
  private start = Date.now();

  add(losses: StepLosses | undefined, names: string[]): void {
    this.iterations++;
    if (!losses) return;
    for (const [name, value] of Object.entries(losses)) {
      if (!names.includes(name)) names.push(name);
      this.sums[name] = (this.sums[name] ?? 0) + value;
    }
    this.count++;
  }

  /** The means and the rate, and a fresh window; undefined when no finite step came since the last. */
  take(names: string[]): { means: StepLosses; itPerSec: number } | undefined {
    if (this.count === 0) return undefined;
    const itPerSec = (this.iterations * 1000) / Math.max(1, Date.now() - this.start);
    const means = Object.fromEntries(names.map((name) => [name, this.sums[name] / this.count])) as StepLosses;
    this.sums = {};
    this.count = 0;
    this.iterations = 0;
    this.start = Date.now();
    return { means, itPerSec };
  }
}

/** A loss that is not finite: skipped, or training stops naming the last good checkpoint. */
function onNonFinite(ctx: RunContext, losses: StepLosses): void {
  const action = ctx.config.train.on_nan;
  const iteration = ctx.state.iteration + 1;
  ctx.emit({ type: 'nan', iteration, action });
  if (action === 'skip') return;
  const kept =
    ctx.lastSaved === undefined
      ? 'no checkpoint was saved before it'
      : `last good checkpoint: ${ctx.folder.lastDir}, iteration ${ctx.lastSaved}`;
  const bad = Object.entries(losses).find(([, v]) => !Number.isFinite(v))!;
  throw new SrError(
    `${bad[0] === 'loss' ? 'loss' : `${bad[0]} loss`} became ${bad[1]} at iteration ${iteration}; stopped (${kept}; --on-nan skip ignores such batches)`,
  );
}

async function trainingLoop(ctx: RunContext, shouldStop?: () => boolean): Promise<TrainSummary> {
  const { config, state, task, folder } = ctx;
  const iterations = config.train.iterations;
  const stripEvery = config.train.strip_every ?? config.train.val_every;
  const window = new LossWindow();
  ctx.emit({ type: 'start', iteration: state.iteration, iterations, resumed: folder.hasRun, trainImages: ctx.data.trainImages });
  let stoppedEarly = false;
  while (state.iteration < iterations) {
    // Without a turn of the event loop here, a SIGINT/SIGTERM handler would only run at the next
    // checkpoint write, possibly thousands of iterations later.
    await new Promise((resolve) => setImmediate(resolve));
    if (shouldStop?.()) {
      stoppedEarly = true;
      break;
    }
    const lr = learningRateAt(config.train.lr, config.train.schedule, state.iteration);
    for (const optimizer of Object.values(task.optimizers)) optimizer.learningRate = lr;
    const losses = await task.step(ctx.data.sampler.next(ctx.rng));
    const finite = Object.values(losses).every(Number.isFinite);
    if (!finite) onNonFinite(ctx, losses);
    // A skipped batch still counts as an iteration, and still reaches the log/validate/save points
    // below: skipping the last iteration must not skip the final checkpoint.
    state.iteration++;
    window.add(finite ? losses : undefined, ctx.lossNames);
    const it = state.iteration;
    const logged = it % config.train.log_every === 0 || it === iterations ? window.take(ctx.lossNames) : undefined;
    if (logged) {
      const time = Number(ctx.elapsed().toFixed(1));
      appendLog(folder.logFile, { iter: it, ...logged.means, lr, it_per_s: Number(logged.itPerSec.toFixed(3)), time });
      ctx.emit({ type: 'step', iteration: it, loss: logged.means.loss, losses: logged.means, lr, itPerSec: logged.itPerSec });
    }
    const validateNow = ctx.data.valImages.length > 0 && (it % config.train.val_every === 0 || it === iterations);
    const validated = validateNow ? await validate(ctx) : undefined;
    if (validated?.isBest) await saveRunCheckpoint(ctx, 'best', validated.score);
    if (ctx.strip && (it % stripEvery === 0 || it === iterations)) await saveStrip(ctx, ctx.strip);
    if (validateNow || it % config.train.save_every === 0 || it === iterations) await saveRunCheckpoint(ctx, 'last', validated?.score);
  }
  if (stoppedEarly) await saveRunCheckpoint(ctx, 'last');
  return { iteration: state.iteration, stoppedEarly, best: state.best, seconds: ctx.elapsed(), out: folder.out };
}
