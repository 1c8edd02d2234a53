/**
 * The measured workloads. Each builds what it needs from the library itself (model registry,
 * trainStep, makeOptimizer, evaluate), times it, and frees every tensor it made.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  checkSchema,
  parseConfig,
  readYaml,
  srganConfigSchema,
  srganPhaseConfig,
  trainingConfigSchema,
  type TrainingConfig,
} from '../config';
import { PatchSampler, type Batch } from '../data/patches';
import type { Plane, TrainingPair } from '../data/training-set';
import { resolveDataset } from '../data/datasets';
import { findCheckpoint, interpolationUpscaler, loadUpscaler, shippedCheckpointsDir, type Upscaler } from '../infer';
import { FoldedNetwork } from '../engines/fold';
import { isCheckpointDir } from '../checkpoint';
import { exportOnnx } from '../engines/onnx/export';
import { createSession, onnxRuntimeStatus } from '../runtime/onnx/session';
import { sessionNetwork, ONNX_PHASE_FOLD } from '../engines/onnx/network';
import { evaluate } from '../infer/evaluate';
import { getArchitecture } from '../models';
import { buildDiscriminator } from '../models/discriminator';
import { contentLoss, ganNetworks, ganStep, vggSource } from '../train/recipes/srgan';
import { firstLine, SrError } from '../core/errors';
import { makeOptimizer, trainableVariables, trainStep } from '../train/recipes/pixel';
import { Rng } from '../core/rng';
import { countConvFlops, type FlopCount } from './flops';
import { round, summarise, timeRuns, type Samples, type TimedSamples } from './stats';
import { packagePath, packageRoot } from '../core/paths';
import { onnxSkipReason, stepExtra, timeOnnxGanStep, timeOnnxTrainStep } from './onnx-training';

export const BENCH_NAMES = [
  'srcnn_train_step_ms',
  'srresnet_train_step_ms',
  'srgan_gan_step_s',
  'srcnn_train_step_ms_onnx',
  'srresnet_train_step_ms_onnx',
  'srgan_gan_step_s_onnx',
  'srresnet_x4_infer_128_ms',
  'srresnet_x4_infer_128_ms_onnx',
  'eval_set14_bicubic_s',
  'eval_set14_srgan_x4_s',
  'eval_set14_srgan_x4_s_onnx',
] as const;
export type BenchName = (typeof BENCH_NAMES)[number];

export function isBenchName(name: string): name is BenchName {
  return (BENCH_NAMES as readonly string[]).includes(name);
}

export interface CaseResult {
  /** The headline number (median), or null when the case was skipped. */
  value: number | null;
  unit: 'ms' | 's';
  /** Why `value` is null. */
  skipped?: string;
  warmup?: number;
  reps?: number;
  min?: number;
  max?: number;
  samples?: number[];
  /** Cores' worth of CPU other processes used on average while this case ran (Linux; null elsewhere). */
  otherCpuCores?: number | null;
  /** Convolution GFLOP of one timed run (see flops.ts for how it is counted). */
  gflop?: number;
  /** gflop divided by the median time. */
  gflops?: number;
  /** What was run, for whoever compares numbers later. */
  setup: Record<string, unknown>;
  /** Secondary figures (batch creation time, PSNR of the evaluation...). */
  extra?: Record<string, unknown>;
}

export interface CaseContext {
  /** Repetitions asked for on the command line; each case has its own default otherwise. */
  reps?: number;
  /** Folder of Set14 HR images, or undefined to use the default location. */
  set14Dir?: string;
  /** Threads asked for (--threads); ONNX Runtime uses them (default: every core). */
  threads?: number;
  /** Run the onnx training cases on ONNX Runtime's CUDA provider when it is installed. */
  cuda?: boolean;
  log: (message: string) => void;
}

export interface BenchCase {
  name: BenchName;
  title: string;
  defaultReps: number;
  /** Minimum warm-up runs... */
  warmup: number;
  /** ...and minimum warm-up time (see TimeOptions.warmupMs). */
  warmupMs: number;
  run(ctx: CaseContext): Promise<CaseResult>;
}

const SEED = 1234;
/** Adam as the training configs use it; the learning rate does not change the cost of a step. */
const ADAM = trainingConfigSchema.shape.train.parse({ iterations: 1, lr: 1e-4, optimizer: 'adam', loss: 'mse' });

export const SRCNN_SETUP = {
  model: 'srcnn',
  kernels: [9, 5, 5],
  widths: [64, 32],
  padding: 'same',
  batch: 16,
  patch: 33,
  channels: 1,
  optimizer: 'adam',
  loss: 'mse',
} as const;
export const SRRESNET_TRAIN_SETUP = {
  model: 'srresnet',
  scale: 4,
  blocks: 16,
  width: 64,
  batch: 16,
  lrPatch: 24,
  hrPatch: 96,
  channels: 3,
  optimizer: 'adam',
  loss: 'mse',
} as const;
export const SRRESNET_INFER_SETUP = {
  model: 'srresnet',
  scale: 4,
  blocks: 16,
  width: 64,
  input: [1, 128, 128, 3],
  output: [1, 512, 512, 3],
} as const;

function randomPlane(rng: Rng, height: number, width: number, channels: number): Plane {
  const data = new Float32Array(height * width * channels);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  return { data, height, width, channels };
}

/**
 * A patch sampler over random-noise "images" (pixel values do not change the cost of a step): four
 * pairs whose input is `inputSide` square and target `inputSide * scale`, sampled with augmentation
 * as in training.
 */
export function randomPatchSampler(options: {
  inputSide: number;
  scale: number;
  channels: number;
  patch: number;
  batch: number;
  seed?: number;
}): PatchSampler {
  const rng = new Rng(options.seed ?? SEED);
  const pairs: TrainingPair[] = [0, 1, 2, 3].map((i) => ({
    name: `noise${i}`,
    input: randomPlane(rng, options.inputSide, options.inputSide, options.channels),
    target: randomPlane(rng, options.inputSide * options.scale, options.inputSide * options.scale, options.channels),
  }));
  return new PatchSampler(pairs, { inputSize: options.patch, scale: options.scale, batchSize: options.batch, augment: true });
}

/** `count` batches from `sampler`, and the median time one took to build. */
function makeBatches(sampler: PatchSampler, count: number, seed = SEED): { batches: Batch[]; buildMs: Samples } {
  const rng = new Rng(seed);
  const batches: Batch[] = [];
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    batches.push(sampler.next(rng));
    times.push(performance.now() - start);
  }
  return { batches, buildMs: summarise(times) };
}

export function buildSrcnn(): tf.LayersModel {
  const spec = getArchitecture('srcnn');
  const options = spec.options.parse({ kernels: SRCNN_SETUP.kernels, widths: SRCNN_SETUP.widths, padding: SRCNN_SETUP.padding });
  return spec.build(options, 3, SEED);
}

export function buildSrresnet(): tf.LayersModel {
  const spec = getArchitecture('srresnet');
  return spec.build(spec.options.parse({ blocks: SRRESNET_TRAIN_SETUP.blocks, width: SRRESNET_TRAIN_SETUP.width }), 4, SEED);
}

export function srcnnSampler(): PatchSampler {
  return randomPatchSampler({ inputSide: 96, scale: 1, channels: 1, patch: SRCNN_SETUP.patch, batch: SRCNN_SETUP.batch });
}

export function srresnetSampler(): PatchSampler {
  return randomPatchSampler({
    inputSide: 64,
    scale: 4,
    channels: 3,
    patch: SRRESNET_TRAIN_SETUP.lrPatch,
    batch: SRRESNET_TRAIN_SETUP.batch,
  });
}

function withFlops(result: CaseResult, gflop: number): CaseResult {
  if (result.value === null) return result;
  const seconds = result.unit === 'ms' ? result.value / 1000 : result.value;
  return { ...result, gflop: round(gflop, 3), gflops: round(gflop / seconds, 2) };
}

function fromSamples(samples: TimedSamples, unit: 'ms' | 's', setup: Record<string, unknown>): CaseResult {
  const k = unit === 's' ? 1 / 1000 : 1;
  const digits = unit === 's' ? 3 : 1;
  return {
    value: round(samples.median * k, digits),
    unit,
    warmup: samples.warmupRuns,
    reps: samples.samples.length,
    min: round(samples.min * k, digits),
    max: round(samples.max * k, digits),
    samples: samples.samples.map((s) => round(s * k, digits)),
    setup,
  };
}

function flopSummary(count: FlopCount, kind: 'forward' | 'trainStep'): Record<string, unknown> {
  return {
    convolutions: count.convolutions.length,
    counted:
      kind === 'forward'
        ? 'forward convolutions'
        : 'training step: forward + filter gradient + input gradient per convolution (none into the image)',
  };
}

/**
 * Times trainStep on pre-built batches (cycled), so the step is what is measured; building a batch is
 * reported beside it.
 */
async function timeTrainStep(
  model: tf.LayersModel,
  sampler: PatchSampler,
  timing: { warmup: number; warmupMs: number; reps: number },
): Promise<{ samples: TimedSamples; buildMs: Samples; finalLoss: number }> {
  const optimizer = makeOptimizer(ADAM);
  const vars = trainableVariables(model);
  const { batches, buildMs } = makeBatches(sampler, 8);
  let i = 0;
  let finalLoss = NaN;
  try {
    const samples = await timeRuns(() => {
      finalLoss = trainStep(model, optimizer, batches[i++ % batches.length], 0, 'mse', vars);
    }, timing);
    return { samples, buildMs, finalLoss };
  } finally {
    optimizer.dispose();
  }
}

const srcnnTrainStep: BenchCase = {
  name: 'srcnn_train_step_ms',
  title: 'SRCNN 9-5-5 train step (16x33x33x1, Adam, MSE)',
  defaultReps: 20,
  warmup: 3,
  warmupMs: 3000,
  async run(ctx) {
    const reps = ctx.reps ?? this.defaultReps;
    const model = buildSrcnn();
    try {
      const flops = countConvFlops(model, [SRCNN_SETUP.batch, SRCNN_SETUP.patch, SRCNN_SETUP.patch, 1]);
      const { samples, buildMs, finalLoss } = await timeTrainStep(model, srcnnSampler(), {
        warmup: this.warmup,
        warmupMs: this.warmupMs,
        reps,
      });
      const result = fromSamples(samples, 'ms', { ...SRCNN_SETUP, flops: flopSummary(flops, 'trainStep') });
      result.extra = { batchBuildMs: round(buildMs.median, 3), forwardGflop: round(flops.forward / 1e9, 3), lastLoss: finalLoss };
      return withFlops(result, flops.trainStep / 1e9);
    } finally {
      model.dispose();
    }
  },
};

const srresnetTrainStep: BenchCase = {
  name: 'srresnet_train_step_ms',
  title: 'SRResNet x4 train step (16x24x24x3 -> 96x96, Adam, MSE)',
  defaultReps: 3,
  // One step runs every kernel long enough for V8 to optimise it.
  warmup: 1,
  warmupMs: 0,
  async run(ctx) {
    const reps = ctx.reps ?? this.defaultReps;
    const model = buildSrresnet();
    try {
      const s = SRRESNET_TRAIN_SETUP;
      const flops = countConvFlops(model, [s.batch, s.lrPatch, s.lrPatch, s.channels]);
      const { samples, buildMs, finalLoss } = await timeTrainStep(model, srresnetSampler(), {
        warmup: this.warmup,
        warmupMs: this.warmupMs,
        reps,
      });
      const result = fromSamples(samples, 'ms', { ...s, flops: flopSummary(flops, 'trainStep') });
      result.extra = { batchBuildMs: round(buildMs.median, 3), forwardGflop: round(flops.forward / 1e9, 3), lastLoss: finalLoss };
      return withFlops(result, flops.trainStep / 1e9);
    } finally {
      model.dispose();
    }
  },
};

/** The pixel training cases on the onnx engine: the same network, batches and Adam as their tfjs twins. */
function onnxTrainStep(name: 'srcnn_train_step_ms_onnx' | 'srresnet_train_step_ms_onnx'): BenchCase {
  const srcnn = name === 'srcnn_train_step_ms_onnx';
  return {
    name,
    title: srcnn
      ? 'SRCNN 9-5-5 train step (16x33x33x1, Adam, MSE), onnx engine'
      : 'SRResNet x4 train step (16x24x24x3 -> 96x96, Adam, MSE), onnx engine',
    defaultReps: srcnn ? 20 : 5,
    // The first step builds the graph and starts the session.
    warmup: 2,
    warmupMs: srcnn ? 3000 : 0,
    async run(ctx) {
      const setup = { ...(srcnn ? SRCNN_SETUP : SRRESNET_TRAIN_SETUP), engine: 'onnx', threads: ctx.threads ?? null };
      const skipped = onnxSkipReason();
      if (skipped) return { value: null, unit: 'ms', skipped, setup };
      const model = srcnn ? buildSrcnn() : buildSrresnet();
      const inputShape: [number, number, number, number] = srcnn
        ? [SRCNN_SETUP.batch, SRCNN_SETUP.patch, SRCNN_SETUP.patch, 1]
        : [SRRESNET_TRAIN_SETUP.batch, SRRESNET_TRAIN_SETUP.lrPatch, SRRESNET_TRAIN_SETUP.lrPatch, 3];
      try {
        const timing = await timeOnnxTrainStep(
          model,
          srcnn ? srcnnSampler() : srresnetSampler(),
          { warmup: this.warmup, warmupMs: this.warmupMs, reps: ctx.reps ?? this.defaultReps },
          { threads: ctx.threads, cuda: ctx.cuda },
        );
        const flops = countConvFlops(model, inputShape);
        const result = fromSamples(timing.samples, 'ms', { ...setup, flops: flopSummary(flops, 'trainStep') });
        result.extra = stepExtra(timing, model, inputShape);
        return withFlops(result, flops.trainStep / 1e9);
      } finally {
        model.dispose();
      }
    },
  };
}

/** The repository's own SRGAN CPU config (checkpoints/training/configs/): what the shipped SRGAN weights are trained with. */
export function srganCpuConfigFile(): string {
  return packagePath('checkpoints', 'training', 'configs', 'srgan-x4-cpu.yaml');
}

/** The adversarial phase of `file` as its run would use it; VGG19 weights resolved against the project root. */
function ganPhaseConfig(file: string): TrainingConfig {
  const phase = srganPhaseConfig(checkSchema(srganConfigSchema, readYaml(file), file), 'gan');
  return parseConfig(trainingConfigSchema, phase, file);
}

/** What both SRGAN step cases share: the CPU config's adversarial phase, its content loss, networks and batches. */
interface GanBench {
  config: TrainingConfig;
  gan: NonNullable<TrainingConfig['gan']>;
  setup: Record<string, unknown>;
}

function ganBench(extra: Record<string, unknown>): GanBench {
  const config = ganPhaseConfig(srganCpuConfigFile());
  const gan = config.gan!;
  const setup = {
    config: 'checkpoints/training/configs/srgan-x4-cpu.yaml',
    ...extra,
    generator: config.network,
    discriminator: gan.discriminator,
    batch: config.data.batch_size,
    lrPatch: config.data.patch_size,
    content: gan.content_loss,
  };
  return { config, gan, setup };
}

/** The content loss with the config's VGG19 folder (relative to the project root), else what `sr data download vgg19` installed. */
async function ganBenchContent(gan: GanBench['gan']): Promise<Awaited<ReturnType<typeof contentLoss>> | { skipped: string }> {
  const configured = gan.vgg ? path.resolve(packageRoot(), gan.vgg) : undefined;
  try {
    const vgg = configured && fs.existsSync(configured) ? configured : vggSource({ ...gan, vgg: undefined });
    return await contentLoss({ ...gan, vgg });
  } catch (err) {
    if (!(err instanceof SrError)) throw err;
    return { skipped: `VGG19 weights unavailable (config: ${gan.vgg}): ${firstLine(err)}` };
  }
}

function ganBenchNetworks(config: TrainingConfig): { generator: tf.LayersModel; discriminator: tf.LayersModel } {
  const generator = getArchitecture(config.model).build(config.network, config.scale, SEED);
  try {
    const discriminator = buildDiscriminator({ patch_size: config.data.patch_size * config.scale, ...config.gan!.discriminator }, SEED);
    return { generator, discriminator };
  } catch (err) {
    generator.dispose();
    throw err;
  }
}

function ganBenchSampler(config: TrainingConfig): PatchSampler {
  return randomPatchSampler({
    inputSide: 2 * config.data.patch_size,
    scale: config.scale,
    channels: 3,
    patch: config.data.patch_size,
    batch: config.data.batch_size,
  });
}

const srganGanStep: BenchCase = {
  name: 'srgan_gan_step_s',
  title: 'SRGAN adversarial step as the CPU SRGAN config (one D and one G update, VGG54)',
  defaultReps: 3,
  warmup: 1,
  warmupMs: 0,
  async run(ctx) {
    const { config, gan, setup } = ganBench({});
    const content = await ganBenchContent(gan);
    if ('skipped' in content) return { value: null, unit: 's', skipped: content.skipped, setup: { ...setup, vgg: gan.vgg } };
    let built: ReturnType<typeof ganBenchNetworks> | undefined;
    let networks: ReturnType<typeof ganNetworks> | undefined;
    try {
      built = ganBenchNetworks(config);
      networks = ganNetworks(built.generator, built.discriminator, content.loss, config);
      const { batches } = makeBatches(ganBenchSampler(config), 4);
      let i = 0;
      const n = networks;
      const samples = await timeRuns(() => ganStep(n, batches[i++ % batches.length]), {
        warmup: this.warmup,
        warmupMs: this.warmupMs,
        reps: ctx.reps ?? this.defaultReps,
      });
      return fromSamples(samples, 's', { ...setup, vgg: gan.vgg });
    } finally {
      networks?.generatorOptimizer.dispose();
      networks?.discriminatorOptimizer.dispose();
      built?.generator.dispose();
      built?.discriminator.dispose();
      content.features?.dispose();
    }
  },
};

/** The adversarial step of the same config on the onnx engine: one ONNX Runtime run does both updates. */
const srganGanStepOnnx: BenchCase = {
  name: 'srgan_gan_step_s_onnx',
  title: 'SRGAN adversarial step as the CPU SRGAN config (one D and one G update, VGG54), onnx engine',
  defaultReps: 3,
  // The first step builds the graph and starts the session.
  warmup: 2,
  warmupMs: 0,
  async run(ctx) {
    const { config, gan, setup } = ganBench({ engine: 'onnx' });
    const skipped = onnxSkipReason();
    if (skipped) return { value: null, unit: 's', skipped, setup };
    const content = await ganBenchContent(gan);
    if ('skipped' in content) return { value: null, unit: 's', skipped: content.skipped, setup };
    let built: ReturnType<typeof ganBenchNetworks> | undefined;
    try {
      built = ganBenchNetworks(config);
      const timing = await timeOnnxGanStep(
        built.generator,
        built.discriminator,
        content.features,
        gan.adversarial_weight,
        ganBenchSampler(config),
        { warmup: this.warmup, warmupMs: this.warmupMs, reps: ctx.reps ?? this.defaultReps },
        { threads: ctx.threads, cuda: ctx.cuda },
      );
      const result = fromSamples(timing.samples, 's', setup);
      result.extra = { provider: timing.provider, lastLosses: timing.lastLosses, ...(timing.notes.length ? { notes: timing.notes } : {}) };
      return result;
    } finally {
      built?.generator.dispose();
      built?.discriminator.dispose();
      content.features?.dispose();
    }
  },
};

/** The 128x128 RGB image both inference cases upscale (noise: values do not change the cost). */
function inferenceInput(): tf.Tensor4D {
  const [n, h, w, c] = SRRESNET_INFER_SETUP.input;
  return tf.tensor4d(randomPlane(new Rng(SEED), n * h, w, c).data, [n, h, w, c]);
}

/** Times a forward pass including reading the result back, as `sr upscale` must. */
async function timeInference(forward: () => Promise<tf.Tensor>, timing: { warmup: number; warmupMs: number; reps: number }) {
  let shape: number[] = [];
  const samples = await timeRuns(async () => {
    const y = await forward();
    try {
      await y.data();
      shape = y.shape;
    } finally {
      y.dispose();
    }
  }, timing);
  return { samples, shape };
}

const srresnetInfer: BenchCase = {
  name: 'srresnet_x4_infer_128_ms',
  title: 'SRResNet x4 inference, one 128x128 RGB image',
  defaultReps: 5,
  warmup: 1,
  warmupMs: 3000,
  async run(ctx) {
    const reps = ctx.reps ?? this.defaultReps;
    const model = buildSrresnet();
    // What `sr upscale` runs: batch norms folded into the convolutions, PReLU fused.
    const folded = FoldedNetwork.from(model);
    const x = inferenceInput();
    try {
      const flops = countConvFlops(model, x.shape);
      const { samples, shape } = await timeInference(async () => folded.predict(x), { warmup: this.warmup, warmupMs: this.warmupMs, reps });
      const result = fromSamples(samples, 'ms', { ...SRRESNET_INFER_SETUP, readBack: true, flops: flopSummary(flops, 'forward') });
      result.extra = { outputShape: shape };
      return withFlops(result, flops.forward / 1e9);
    } finally {
      x.dispose();
      folded.dispose();
      model.dispose();
    }
  },
};

const srresnetInferOnnx: BenchCase = {
  name: 'srresnet_x4_infer_128_ms_onnx',
  title: 'SRResNet x4 inference, one 128x128 RGB image, ONNX Runtime',
  defaultReps: 5,
  warmup: 1,
  warmupMs: 3000,
  async run(ctx) {
    const setup = { ...SRRESNET_INFER_SETUP, engine: 'onnx' };
    const status = onnxRuntimeStatus();
    if (!status.available) return { value: null, unit: 'ms', skipped: status.reason, setup };
    const reps = ctx.reps ?? this.defaultReps;
    const model = buildSrresnet();
    // What `sr upscale --engine onnx` runs: the folded graph exported, one session, NHWC <-> NCHW
    // on each side of it, the result back as a tfjs tensor.
    const folded = FoldedNetwork.from(model, { phaseFold: ONNX_PHASE_FOLD });
    const bytes = exportOnnx(folded.graph, { name: 'srresnet-x4-bench' });
    folded.dispose();
    const session = await createSession(bytes, { threads: ctx.threads, cuda: true });
    const run = sessionNetwork(session.session);
    const x = inferenceInput();
    try {
      const flops = countConvFlops(model, x.shape);
      const { samples, shape } = await timeInference(() => run(x), { warmup: this.warmup, warmupMs: this.warmupMs, reps });
      const result = fromSamples(samples, 'ms', {
        ...setup,
        provider: session.provider,
        threads: session.threads,
        onnxruntime: status.version,
        readBack: true,
        flops: flopSummary(flops, 'forward'),
      });
      result.extra = { outputShape: shape, ...(session.notes.length ? { notes: session.notes } : {}) };
      return withFlops(result, flops.forward / 1e9);
    } finally {
      x.dispose();
      model.dispose();
      await session.session.release();
    }
  },
};

/** `../shared/datasets/Set14` beside the project root (src/bench and dist/bench are two levels down). */
export function defaultSet14Dir(): string {
  return path.resolve(packageRoot(), '..', 'shared', 'datasets', 'Set14');
}

const evalSet14Bicubic: BenchCase = {
  name: 'eval_set14_bicubic_s',
  title: 'evaluate() bicubic x4 on Set14 (PSNR/SSIM, Y)',
  defaultReps: 3,
  // One untimed pass over the first image, so the first timed pass does not pay for warming up.
  warmup: 1,
  warmupMs: 0,
  async run(ctx) {
    const dir = ctx.set14Dir ?? defaultSet14Dir();
    const setup = { dataset: 'Set14', dir, scale: 4, upscaler: 'bicubic', channel: 'y' };
    if (!fs.existsSync(dir)) return { value: null, unit: 's', skipped: `Set14 folder not found: ${dir}`, setup };
    const { images } = resolveDataset(dir);
    const upscaler = interpolationUpscaler('bicubic', 4);
    const { samples, psnr, ssim } = await timeSet14Evaluation(images, upscaler, {
      warmup: this.warmup,
      warmupMs: this.warmupMs,
      reps: ctx.reps ?? this.defaultReps,
    });
    upscaler.dispose();
    const result = fromSamples(samples, 's', { ...setup, images: images.length });
    result.extra = { meanPsnr: round(psnr, 3), meanSsim: round(ssim, 4) };
    return result;
  },
};

/**
 * Times evaluate() over Set14; the first, untimed run scores one image only (kernel and session
 * set-up), the timed ones the whole set. Returns the samples and the last run's mean scores.
 */
async function timeSet14Evaluation(images: string[], upscaler: Upscaler, timing: { warmup: number; warmupMs: number; reps: number }) {
  let psnr = NaN;
  let ssim = NaN;
  let warm = false;
  const samples = await timeRuns(async () => {
    if (!warm) {
      warm = true;
      await evaluate({ datasetName: 'Set14', images: images.slice(0, 1), upscaler });
      return;
    }
    const result = await evaluate({ datasetName: 'Set14', images, upscaler });
    psnr = result.mean.psnr;
    ssim = result.mean.ssim;
  }, timing);
  return { samples, psnr, ssim };
}

/**
 * `sr eval` of the shipped SRGAN x4 weights on Set14, per engine. Untrained weights would give
 * meaningless scores, so without the shipped weights the case is skipped.
 */
function evalSet14Srgan(engine: 'tfjs' | 'onnx'): BenchCase {
  return {
    name: engine === 'onnx' ? 'eval_set14_srgan_x4_s_onnx' : 'eval_set14_srgan_x4_s',
    title: `evaluate() shipped SRGAN x4 on Set14 (PSNR/SSIM, Y), ${engine}`,
    defaultReps: 1,
    // One untimed image first: session start, kernel set-up and the export cache are not timed.
    warmup: 1,
    warmupMs: 0,
    async run(ctx) {
      const dir = ctx.set14Dir ?? defaultSet14Dir();
      const weights = path.join(shippedCheckpointsDir(), 'srgan-x4');
      const setup = { dataset: 'Set14', dir, scale: 4, model: 'srgan', engine, channel: 'y' };
      if (!isCheckpointDir(weights)) return { value: null, unit: 's', skipped: `no shipped SRGAN x4 weights (${weights})`, setup };
      if (!fs.existsSync(dir)) return { value: null, unit: 's', skipped: `Set14 folder not found: ${dir}`, setup };
      if (engine === 'onnx' && !onnxRuntimeStatus().available)
        return { value: null, unit: 's', skipped: onnxRuntimeStatus().reason, setup };
      const { images } = resolveDataset(dir);
      const upscaler: Upscaler = await loadUpscaler({ model: findCheckpoint('srgan', 4).dir, engine, threads: ctx.threads });
      try {
        const { samples, psnr, ssim } = await timeSet14Evaluation(images, upscaler, {
          warmup: this.warmup,
          warmupMs: this.warmupMs,
          reps: ctx.reps ?? this.defaultReps,
        });
        const result = fromSamples(samples, 's', { ...setup, engineDescription: upscaler.engine?.description, images: images.length });
        result.extra = { meanPsnr: round(psnr, 3), meanSsim: round(ssim, 4) };
        return result;
      } finally {
        upscaler.dispose();
      }
    },
  };
}

// The SRResNet training step runs last: its 96x96 batch of activations grows the wasm heap, and
// inference measured after it in the same process was 25% slower than in a fresh `sr upscale`.
export const CASES: readonly BenchCase[] = [
  srcnnTrainStep,
  srresnetInfer,
  srresnetInferOnnx,
  evalSet14Bicubic,
  evalSet14Srgan('tfjs'),
  evalSet14Srgan('onnx'),
  srresnetTrainStep,
  srganGanStep,
  onnxTrainStep('srcnn_train_step_ms_onnx'),
  onnxTrainStep('srresnet_train_step_ms_onnx'),
  srganGanStepOnnx,
];
