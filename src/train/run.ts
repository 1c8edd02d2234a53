/**
 * A training run, whatever is trained: the run folder (`last/` and `best/` checkpoints, `log.jsonl`,
 * `curves.png`, `strips/`, the resolved `config.json`), the data, the loop that decides when to
 * log, validate, save and stop, and exact resume. What one step does, and which networks and
 * optimizers it owns, is a TrainingTask: a pixel loss on one network (supervised.ts) or SRGAN's
 * two networks (gan.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../config/schema';
import { SrError, UsageError } from '../core/errors';
import { listImages } from '../data/datasets';
import { PatchSampler, type Batch } from '../data/patches';
import { loadTrainingSet } from '../data/training-set';
import { upscaleWithNetwork } from '../infer/model-upscaler';
import type { Upscaler } from '../infer/upscaler';
import { readImage } from '../image/io';
import { describeNetwork, getArchitecture } from '../models';
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
  type LoadedCheckpoint,
  type NamedWeights,
} from '../checkpoint';
import { appendLog, readLog, truncateLog, writeCurvesPng } from './log';
import { learningRateAt } from './schedule';
import { stripCrop, writeStrip, type StripCrop } from './strip';

export type TrainEvent =
  | { type: 'loading'; done: number; total: number }
  | { type: 'skipped'; file: string; reason: string }
  | { type: 'start'; iteration: number; iterations: number; resumed: boolean; trainImages: number }
  /** `loss` is what is minimised (the generator's total for a GAN); `losses` has every term. */
  | { type: 'step'; iteration: number; loss: number; losses: StepLosses; lr: number; itPerSec: number }
  | { type: 'validation'; iteration: number; psnr: number; ssim: number; best: boolean }
  | { type: 'checkpoint'; iteration: number; which: 'last' | 'best'; dir: string }
  | { type: 'strip'; iteration: number; file: string }
  | { type: 'nan'; iteration: number; action: 'skip' | 'stop' };

/** Losses of one step by name; `loss` is the one minimised. */
export type StepLosses = { loss: number } & Record<string, number>;

export type TrainableOptimizer = tf.Optimizer & { learningRate: number };

export interface TrainingTask {
  /** The network validated, and saved as the checkpoint's `model` (what inference loads). */
  model: tf.LayersModel;
  /** Networks saved beside it by role (SRGAN's 'discriminator'). */
  companions: Record<string, tf.LayersModel>;
  /** Optimizers by the role of the network they train ('model', 'discriminator'). */
  optimizers: Record<string, TrainableOptimizer>;
  /** One update on a batch; an update whose loss is not finite is not applied. */
  step(batch: Batch): StepLosses;
  /** Frees what the task owns beyond its networks (e.g. the VGG19 of the content loss). */
  dispose(): void;
  /** The `--init` checkpoint a fresh task started from. */
  init?: InitOrigin;
}

/** How a task comes to be: fresh (from the config, and its `init`) or from the run's last checkpoint. */
export type TaskFactory = (resumed: LoadedCheckpoint | undefined) => Promise<TrainingTask>;

export interface TrainRunOptions {
  config: TrainingConfig;
  out: string;
  resume: boolean;
  /** What the weights are known as, stored in the checkpoint meta ('srcnn', 'srresnet', 'srgan'). */
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
  /** Kept from the fresh start: the init folder's weights (e.g. a run's best/) may have moved on since. */
  init?: InitOrigin;
}

export function makeOptimizer(config: TrainingConfig['train']): TrainableOptimizer {
  const opt = config.optimizer === 'sgd' ? tf.train.momentum(config.lr, config.momentum) : tf.train.adam(config.lr, 0.9, 0.999, 1e-8);
  return opt as unknown as TrainableOptimizer;
}

/** beta^(steps+1) as Adam accumulates it during training: one float32 multiply per step. */
function float32Power(beta: number, steps: number): number {
  const b = Math.fround(beta);
  let value = b;
  for (let i = 0; i < steps; i++) value = Math.fround(value * b);
  return value;
}

/**
 * Loads saved optimizer slots. tfjs's Adam then recomputes its running beta powers as
 * pow(beta, t + 1), which differs in the last bits from the product it accumulates while training;
 * with the small second moments of normalisation layers that was enough for a resumed SRResNet to
 * drift from an uninterrupted run. So the powers are rebuilt the way training builds them.
 */
export async function restoreOptimizer(optimizer: tf.Optimizer, slots: NamedWeights[]): Promise<void> {
  await optimizer.setWeights(slots);
  if (!(optimizer instanceof tf.AdamOptimizer)) return;
  const adam = optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable; beta1: number; beta2: number; iterations: number };
  tf.tidy(() => {
    adam.accBeta1.assign(tf.scalar(float32Power(adam.beta1, adam.iterations)));
    adam.accBeta2.assign(tf.scalar(float32Power(adam.beta2, adam.iterations)));
  });
}

/** The variables a network trains, in a fixed order (optimizer slots are matched by position). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

/**
 * Differentiates `loss` with respect to `vars` and applies the update only when the loss is finite,
 * so a NaN batch leaves weights and optimizer slots untouched. Returns the loss.
 */
export function minimizeIfFinite(optimizer: tf.Optimizer, vars: tf.Variable[], loss: () => tf.Scalar): number {
  const { value, grads } = optimizer.computeGradients(loss, vars);
  const result = value.dataSync()[0];
  // In `vars` order, as minimize() does: Adam matches its slots to variables by position.
  if (Number.isFinite(result)) optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
  tf.dispose([value, ...Object.values(grads)]);
  return result;
}

/**
 * Sets `model` to the weights of `config.init`, refusing a checkpoint of another architecture or
 * options; returns where they came from, for the run's checkpoint meta.
 */
export async function initialWeights(config: TrainingConfig, model: tf.LayersModel): Promise<InitOrigin> {
  const dir = config.init!;
  const loaded = await loadCheckpoint(dir);
  try {
    const { meta } = loaded;
    if (meta.architecture !== config.model || JSON.stringify(meta.options) !== JSON.stringify(config.network)) {
      throw new UsageError(
        `--init ${dir} holds ${meta.architecture} ${JSON.stringify(meta.options)}, which does not fit ${config.model} ${JSON.stringify(config.network)}`,
      );
    }
    const weights = loaded.networks.model.getWeights();
    const shapes = model.getWeights().map((w) => w.shape.join('x'));
    if (weights.length !== shapes.length || weights.some((w, i) => w.shape.join('x') !== shapes[i])) {
      throw new UsageError(`--init ${dir}: its weights do not fit this ${config.model} x${config.scale} network`);
    }
    model.setWeights(weights);
    return { dir, iterations: meta.training?.iterations, seconds: meta.training?.seconds };
  } finally {
    loaded.networks.model.dispose();
  }
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
  if (JSON.stringify(meta.options) !== JSON.stringify(config.network)) {
    throw new UsageError(
      `checkpoint ${dir} has network options ${JSON.stringify(meta.options)}, the config ${JSON.stringify(config.network)}`,
    );
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

/** Loss terms plotted in curves.png, besides the validation PSNR. */
function curveFields(config: TrainingConfig, losses: string[]) {
  const label = (key: string) =>
    key === 'loss' ? `training loss (${config.gan ? 'generator total' : config.train.loss})` : key.replace(/_/g, ' ');
  return [...losses.map((key) => ({ key, label: label(key), logY: true })), { key: 'val_psnr', label: 'validation PSNR (dB, Y)' }];
}

export async function runTraining(options: TrainRunOptions, roles: string[], createTask: TaskFactory): Promise<TrainSummary> {
  const { config, out } = options;
  const emit = options.onEvent ?? (() => undefined);
  const spec = getArchitecture(config.model);
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
  // Refuse a checkpoint of another architecture or scale, or a run already at its target, before
  // spending minutes on the data.
  if (hasRun) {
    const lastMeta = readCheckpointMeta(lastDir);
    checkCompatible(lastMeta, config, label, lastDir);
    const done = lastMeta.training?.iterations ?? 0;
    if (done >= config.train.iterations) {
      throw new UsageError(
        `${out} has trained ${done} iterations already (target ${config.train.iterations}): give a larger --iterations to train on`,
      );
    }
  }
  fs.mkdirSync(out, { recursive: true });

  const patch = config.data.patch_size;
  const upsampled = spec.inputIsUpsampled;
  // Validation images are picked first (a subset may be held out of training, below); their
  // warnings follow the training set's, in the order the run uses them.
  const valWarnings: TrainEvent[] = [];
  const valImages = config.data.val
    ? await readableImages(listImages(config.data.val), config.data.val_images, config.scale, (e) => valWarnings.push(e))
    : [];
  const pairs = await loadTrainingSet(config.data.train, {
    scale: config.scale,
    space: spec.inputSpace,
    inputIsUpsampled: upsampled,
    minHrSize: upsampled ? patch : patch * config.scale,
    // A validation subset (val_images) is held out of training when its folder trains too (T91 in
    // the SRGAN CPU config: its first images validate, the rest train). A whole folder named as
    // both stays in both, as asked.
    exclude: config.data.val_images === undefined ? undefined : new Set(valImages.map((f) => path.resolve(f))),
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

  let state: RunState;
  let task: TrainingTask;
  if (hasRun) {
    const loaded = await loadCheckpoint(lastDir, roles);
    checkCompatible(loaded.meta, config, label, lastDir);
    task = await createTask(loaded);
    for (const [role, optimizer] of Object.entries(task.optimizers)) {
      const slots = loaded.optimizers[role];
      if (!slots) continue;
      await restoreOptimizer(optimizer, slots);
      tf.dispose(slots.map((s) => s.tensor));
    }
    state = loaded.state as unknown as RunState;
    await truncateLog(logFile, state.iteration);
  } else {
    task = await createTask(undefined);
    state = { iteration: 0, rng: new Rng(config.train.seed).state(), seconds: 0, init: task.init };
    fs.rmSync(logFile, { force: true });
  }
  const strip: StripCrop | undefined = valImages.length > 0 ? await stripCrop(valImages[0], config.scale) : undefined;
  try {
    await writeFileAtomic(path.join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    return await loop();
  } finally {
    if (strip) tf.dispose([strip.hr, strip.lr]);
    task.dispose();
    for (const network of [task.model, ...Object.values(task.companions)]) network.dispose();
    for (const optimizer of Object.values(task.optimizers)) optimizer.dispose();
  }

  async function loop(): Promise<TrainSummary> {
    const rng = new Rng(state.rng);
    const description = { name: label, ...describeNetwork(config.model, config.network, config.scale) };
    const started = Date.now() - state.seconds * 1000;
    const elapsed = () => (Date.now() - started) / 1000;
    const upscaler: Upscaler = {
      name: label,
      scale: config.scale,
      upscale: async (lr) => upscaleWithNetwork(task.model, description, lr),
      dispose: () => undefined,
    };

    const meta = (validation?: CheckpointMeta['validation']): CheckpointMeta => ({
      format: FORMAT,
      architecture: spec.name,
      model: label,
      options: config.network,
      scale: config.scale,
      inputSpace: spec.inputSpace,
      inputIsUpsampled: spec.inputIsUpsampled,
      channels: spec.inputSpace === 'y' ? 1 : 3,
      training: {
        data: config.data.train,
        val: config.data.val,
        iterations: state.iteration,
        seconds: Math.round(elapsed()),
        config,
        init: state.init,
      },
      // These weights' own score: a checkpoint saved between validations has none (the run's best
      // is in state.json), so a shipped `last/` never claims another checkpoint's score.
      validation,
      createdAt: new Date().toISOString(),
    });

    // The iteration last/ holds, named when training stops on a non-finite loss.
    let lastSaved: number | undefined = hasRun ? state.iteration : undefined;
    const save = async (which: 'last' | 'best', validation?: CheckpointMeta['validation']) => {
      state.rng = rng.state();
      state.seconds = elapsed();
      const slots: Record<string, NamedWeights[]> = {};
      for (const [role, optimizer] of Object.entries(task.optimizers)) slots[role] = (await optimizer.getWeights()) as NamedWeights[];
      try {
        await saveCheckpoint(which === 'last' ? lastDir : bestDir, {
          meta: meta(validation),
          networks: { model: task.model, ...task.companions },
          optimizers: slots,
          state: { ...state },
        });
      } finally {
        // getWeights hands out the live slot variables plus one fresh 'iter' scalar.
        for (const weights of Object.values(slots)) weights.filter((s) => s.name === 'iter').forEach((s) => s.tensor.dispose());
      }
      if (which === 'last') lastSaved = state.iteration;
      emit({ type: 'checkpoint', iteration: state.iteration, which, dir: which === 'last' ? lastDir : bestDir });
    };

    const lossNames: string[] = [];
    const validate = async () => {
      const result = await evaluate({ datasetName: config.data.val ?? '', images: valImages, upscaler });
      const { psnr, ssim } = result.mean;
      const iteration = state.iteration;
      const isBest = !state.best || psnr > state.best.psnr;
      if (isBest) state.best = { psnr, ssim, iteration };
      appendLog(logFile, { iter: iteration, val_psnr: psnr, val_ssim: ssim });
      emit({ type: 'validation', iteration, psnr, ssim, best: isBest });
      await writeCurvesPng(path.join(out, 'curves.png'), readLog(logFile), curveFields(config, lossNames.length ? lossNames : ['loss']));
      return { isBest, score: { dataset: config.data.val ?? '', psnr, ssim, iteration } };
    };

    const stripEvery = config.train.strip_every ?? config.train.val_every;
    const saveStrip = async () => {
      const file = path.join(out, 'strips', `iter-${String(state.iteration).padStart(7, '0')}.png`);
      await writeStrip(file, strip!, upscaler);
      emit({ type: 'strip', iteration: state.iteration, file });
    };

    emit({ type: 'start', iteration: state.iteration, iterations: config.train.iterations, resumed: hasRun, trainImages: pairs.length });
    const sums: Record<string, number> = {};
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
      for (const optimizer of Object.values(task.optimizers)) optimizer.learningRate = lr;
      const losses = task.step(sampler.next(rng));
      const finite = Object.values(losses).every(Number.isFinite);
      if (!finite) {
        const action = config.train.on_nan;
        emit({ type: 'nan', iteration: state.iteration + 1, action });
        if (action === 'stop') {
          const kept =
            lastSaved === undefined ? 'no checkpoint was saved before it' : `last good checkpoint: ${lastDir}, iteration ${lastSaved}`;
          const bad = Object.entries(losses).find(([, v]) => !Number.isFinite(v))!;
          throw new SrError(
            `${bad[0] === 'loss' ? 'loss' : `${bad[0]} loss`} became ${bad[1]} at iteration ${state.iteration + 1}; stopped (${kept}; --on-nan skip ignores such batches)`,
          );
        }
      }
      // A skipped batch still counts as an iteration, and still reaches the log/validate/save points
      // below: skipping the last iteration must not skip the final checkpoint.
      state.iteration++;
      windowIters++;
      if (finite) {
        for (const [name, value] of Object.entries(losses)) {
          if (!lossNames.includes(name)) lossNames.push(name);
          sums[name] = (sums[name] ?? 0) + value;
        }
        lossCount++;
      }
      const it = state.iteration;
      if ((it % config.train.log_every === 0 || it === config.train.iterations) && lossCount > 0) {
        const itPerSec = (windowIters * 1000) / Math.max(1, Date.now() - windowStart);
        const means = Object.fromEntries(lossNames.map((name) => [name, sums[name] / lossCount])) as StepLosses;
        appendLog(logFile, { iter: it, ...means, lr, it_per_s: Number(itPerSec.toFixed(3)), time: Number(elapsed().toFixed(1)) });
        emit({ type: 'step', iteration: it, loss: means.loss, losses: means, lr, itPerSec });
        for (const name of lossNames) sums[name] = 0;
        lossCount = 0;
        windowStart = Date.now();
        windowIters = 0;
      }
      const validateNow = valImages.length > 0 && (it % config.train.val_every === 0 || it === config.train.iterations);
      const validated = validateNow ? await validate() : undefined;
      if (validated?.isBest) await save('best', validated.score);
      if (strip && (it % stripEvery === 0 || it === config.train.iterations)) await saveStrip();
      if (validateNow || it % config.train.save_every === 0 || it === config.train.iterations) await save('last', validated?.score);
    }
    if (stoppedEarly) await save('last');
    return { iteration: state.iteration, stoppedEarly, best: state.best, seconds: elapsed(), out };
  }
}
