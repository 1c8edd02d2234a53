/**
 * Where the time of a step goes (`--profile`): the phases of a training step (forward, backward,
 * optimizer update, batch creation, upload) and a per-kernel breakdown from tf.profile.
 *
 * The sr training kernels (src/runtime/tfjs/kernels) are written with other tfjs ops, so tf.profile
 * lists a Conv2DBackpropFilter and then again the transposes and convolutions it ran. Each record's
 * nesting depth is noted as it is logged, so a kernel's inclusive time (itself and what it ran) and
 * self time (without the kernels it ran) can be told apart and nothing is counted twice.
 * The wasm backend runs kernels synchronously, so a kernel's time is its wall time.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/patches';
import type { PatchSampler } from '../data/patches';
import { makeOptimizer, trainableVariables, trainStep } from '../train/recipes/pixel';
import { trainingConfigSchema } from '../config/schema';
import { Rng } from '../core/rng';
import { countConvFlops, type ConvCount } from './flops';
import { round, timeRuns } from './stats';

export interface KernelLine {
  kernel: string;
  /** Input shapes, as tf.profile gives them. */
  inputs: string;
  /** The model's convolution layers a convolution kernel belongs to, found from the shapes. */
  layers?: string;
  calls: number;
  /** Inclusive time of these calls, ms per step. */
  ms: number;
  /** Share of the step's wall time. */
  share: number;
}

export interface SelfLine {
  kernel: string;
  calls: number;
  /** Self time (without nested kernels), ms per step. */
  ms: number;
  share: number;
}

export interface PhaseTimes {
  /** Building the batch from the training images (PatchSampler.next). */
  batchBuildMs: number;
  /** tf.tensor4d for input and target. */
  uploadMs: number;
  /** model.apply (training) + loss, read back. */
  forwardMs: number;
  /** computeGradients (forward and backward) minus the forward. */
  backwardMs: number;
  /** optimizer.applyGradients (Adam). */
  optimizerMs: number;
  /** The library's trainStep as a whole (what the bench reports). */
  trainStepMs: number;
}

export interface Profile {
  what: string;
  /** Wall time of the profiled run (profiling adds a little). */
  wallMs: number;
  /** Sum of the top-level kernel times; the rest is JavaScript around them (tape, tidy, layers). */
  kernelMs: number;
  phases?: PhaseTimes;
  /** Top-level kernels grouped by name and input shapes, slowest first. */
  kernels: KernelLine[];
  /** Every kernel grouped by name, by self time, slowest first. */
  selfTime: SelfLine[];
}

interface Recorded {
  name: string;
  inputShapes: (number[] | null)[];
  ms: number;
  depth: number;
}

interface EngineState {
  kernelDepth: number;
  activeProfile: { kernels: unknown[] };
}

/** Runs `f` under tf.profile, noting each kernel's nesting depth. */
async function recordKernels(f: () => void): Promise<{ records: Recorded[]; wallMs: number }> {
  const depths: number[] = [];
  let wallMs = 0;
  const info = await tf.profile(() => {
    // Internal engine state: tfjs pushes one record per kernel when it returns, while
    // state.kernelDepth is back at the depth the kernel was called from (0 = called by user code).
    const state = (tf.engine() as unknown as { state: EngineState }).state;
    const list = state.activeProfile.kernels;
    const push = list.push;
    list.push = function (...items: unknown[]) {
      for (let i = 0; i < items.length; i++) depths.push(state.kernelDepth);
      return push.apply(this, items);
    };
    const start = performance.now();
    try {
      f();
    } finally {
      wallMs = performance.now() - start;
      list.push = push;
    }
    return [];
  });
  if (depths.length !== info.kernels.length) throw new Error('could not follow the kernel nesting (tfjs internals changed?)');
  const records = info.kernels.map((k, i) => ({
    name: k.name,
    inputShapes: k.inputShapes as (number[] | null)[],
    ms: Number(k.kernelTimeMs),
    depth: depths[i],
  }));
  return { records, wallMs };
}

function shapeText(shapes: (number[] | null)[]): string {
  return shapes.map((s) => (s ? `[${s.join(',')}]` : '-')).join(' ');
}

function sameShape(a: number[] | null | undefined, b: number[]): boolean {
  return !!a && a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The convolution layers a conv-family kernel call belongs to, judged by its operand shapes. */
function layersFor(name: string, shapes: (number[] | null)[], convs: ConvCount[]): string | undefined {
  let found: ConvCount[] = [];
  if (name === 'Conv2D' || name === 'FusedConv2D' || name === 'Conv2DBackpropInput') {
    const filter = shapes[1]; // Conv2D/FusedConv2D: (x, filter); Conv2DBackpropInput: (dy, filter)
    found = convs.filter((c) => sameShape(filter, c.kernel));
  } else if (name === 'Conv2DBackpropFilter') {
    const [x, dy] = shapes;
    found = convs.filter((c) => x && dy && x[3] === c.kernel[2] && sameShape(dy, c.output));
  }
  if (found.length === 0) return undefined;
  if (found.length <= 2) return found.map((c) => c.layer).join(', ');
  return `${found[0].layer} .. ${found[found.length - 1].layer} (${found.length} layers)`;
}

function summarize(what: string, records: Recorded[], wallMs: number, steps: number, convs: ConvCount[]): Profile {
  // Self time: records arrive in post-order (a kernel after everything it ran).
  const childSum: number[] = [];
  const self = records.map((r) => {
    const inner = childSum[r.depth + 1] ?? 0;
    childSum[r.depth + 1] = 0;
    childSum[r.depth] = (childSum[r.depth] ?? 0) + r.ms;
    return r.ms - inner;
  });
  const wallPerStep = wallMs / steps;
  const top = new Map<string, KernelLine>();
  let kernelMs = 0;
  records.forEach((r) => {
    if (r.depth !== 0) return;
    kernelMs += r.ms;
    const inputs = shapeText(r.inputShapes);
    const key = `${r.name} ${inputs}`;
    const line = top.get(key) ?? { kernel: r.name, inputs, layers: layersFor(r.name, r.inputShapes, convs), calls: 0, ms: 0, share: 0 };
    line.calls += 1;
    line.ms += r.ms;
    top.set(key, line);
  });
  const selfByName = new Map<string, SelfLine>();
  records.forEach((r, i) => {
    const line = selfByName.get(r.name) ?? { kernel: r.name, calls: 0, ms: 0, share: 0 };
    line.calls += 1;
    line.ms += self[i];
    selfByName.set(r.name, line);
  });
  const perStep = <T extends { calls: number; ms: number; share: number }>(l: T): T => ({
    ...l,
    calls: round(l.calls / steps, 2),
    ms: round(l.ms / steps, 2),
    share: round(l.ms / steps / wallPerStep, 4),
  });
  return {
    what,
    wallMs: round(wallPerStep, 2),
    kernelMs: round(kernelMs / steps, 2),
    kernels: [...top.values()].sort((a, b) => b.ms - a.ms).map(perStep),
    selfTime: [...selfByName.values()].sort((a, b) => b.ms - a.ms).map(perStep),
  };
}

const ADAM = trainingConfigSchema.shape.train.parse({ iterations: 1, lr: 1e-4, optimizer: 'adam', loss: 'mse' });

/** Phases and kernels of trainStep on `model` (which is trained a few steps; dispose it afterwards). */
export async function profileTrainStep(
  what: string,
  model: tf.LayersModel,
  sampler: PatchSampler,
  reps: number,
  profileSteps = 2,
): Promise<Profile> {
  const optimizer = makeOptimizer(ADAM);
  const vars = trainableVariables(model);
  const rng = new Rng(99);
  const batches: Batch[] = [];
  const build = await timeRuns(() => batches.push(sampler.next(rng)), { warmup: 1, reps: Math.max(reps, 4) });
  const batch = batches[0];
  const convs = countConvFlops(model, batch.inputShape).convolutions;
  const timing = { warmup: 2, warmupMs: 1500, reps };
  try {
    const step = await timeRuns(() => trainStep(model, optimizer, batch, 0, 'mse', vars), timing);
    const upload = await timeRuns(() => {
      const x = tf.tensor4d(batch.input, batch.inputShape);
      const y = tf.tensor4d(batch.target, batch.targetShape);
      tf.dispose([x, y]);
    }, timing);
    const lossOf = () => {
      const x = tf.tensor4d(batch.input, batch.inputShape);
      const y = tf.tensor4d(batch.target, batch.targetShape);
      // What trainStep computes for MSE with 'same' padding (no centre crop).
      return tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
    };
    const forward = await timeRuns(() => tf.tidy(() => lossOf().dataSync()), timing);
    let pending: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
    const both = await timeRuns(() => {
      const { value, grads } = optimizer.computeGradients(() => tf.tidy(lossOf), vars);
      value.dataSync();
      if (pending) tf.dispose([pending.value, ...Object.values(pending.grads)]);
      pending = { value, grads };
    }, timing);
    // Apply the last gradients repeatedly: the update costs the same whatever their values.
    const grads = pending!.grads;
    const apply = await timeRuns(() => {
      optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
      vars[0].dataSync();
    }, timing);
    tf.dispose([pending!.value, ...Object.values(grads)]);

    const { records, wallMs } = await recordKernels(() => {
      for (let i = 0; i < profileSteps; i++) trainStep(model, optimizer, batch, 0, 'mse', vars);
    });
    const profile = summarize(what, records, wallMs, profileSteps, convs);
    profile.phases = {
      batchBuildMs: round(build.median, 3),
      uploadMs: round(upload.median, 3),
      forwardMs: round(forward.median, 2),
      backwardMs: round(both.median - forward.median, 2),
      optimizerMs: round(apply.median, 2),
      trainStepMs: round(step.median, 2),
    };
    return profile;
  } finally {
    optimizer.dispose();
  }
}

/** Kernels of one model.predict on `x`, read back. */
export async function profileInference(what: string, model: tf.LayersModel, x: tf.Tensor4D): Promise<Profile> {
  const convs = countConvFlops(model, x.shape).convolutions;
  tf.dispose(model.predict(x) as tf.Tensor); // warm-up
  const { records, wallMs } = await recordKernels(() => {
    const y = model.predict(x) as tf.Tensor;
    y.dataSync();
    y.dispose();
  });
  return summarize(what, records, wallMs, 1, convs);
}
