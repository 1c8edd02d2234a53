/**
 * Bench cases of the onnx training engine: the same networks, batches and optimizer as the tfjs
 * cases (and as ../shared/peers/torch_peer.py), each step one ONNX Runtime session run.
 */
import * as tf from '@tensorflow/tfjs';
import type { PatchSampler } from '../data/patches';
import { OnnxTrainer, type OptimizerSpec } from '../engines/onnx/training';
import { onnxRuntimeStatus } from '../runtime/onnx/session';
import { Rng } from '../core/rng';
import { countConvFlops } from './flops';
import { round, timeRuns, type TimedSamples } from './stats';

const ADAM: OptimizerSpec = { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const LR = 1e-4;

export interface OnnxStepTiming {
  samples: TimedSamples;
  lastLoss: number;
  provider: string | undefined;
  notes: string[];
}

/** Times OnnxTrainer.step on pre-built batches (cycled); session creation is part of the warm-up. */
export async function timeOnnxTrainStep(
  model: tf.LayersModel,
  sampler: PatchSampler,
  timing: { warmup: number; warmupMs: number; reps: number },
  options: { threads?: number; cuda?: boolean } = {},
): Promise<OnnxStepTiming> {
  const rng = new Rng(1234);
  const batches = Array.from({ length: 8 }, () => sampler.next(rng));
  const trainer = OnnxTrainer.create(model, { loss: 'mse', optimizer: ADAM, threads: options.threads, cuda: options.cuda });
  let i = 0;
  let lastLoss = NaN;
  try {
    const samples = await timeRuns(async () => {
      lastLoss = await trainer.step(batches[i++ % batches.length], LR);
    }, timing);
    return { samples, lastLoss, provider: trainer.provider, notes: trainer.notes };
  } finally {
    await trainer.dispose();
  }
}

/** Times OnnxTrainer's SRGAN adversarial step (both updates) on pre-built batches (cycled). */
export async function timeOnnxGanStep(
  generator: tf.LayersModel,
  discriminator: tf.LayersModel,
  features: tf.LayersModel | undefined,
  adversarialWeight: number,
  sampler: PatchSampler,
  timing: { warmup: number; warmupMs: number; reps: number },
  options: { threads?: number; cuda?: boolean } = {},
): Promise<{ samples: TimedSamples; lastLosses: Record<string, number>; provider: string | undefined; notes: string[] }> {
  const rng = new Rng(1234);
  const batches = Array.from({ length: 4 }, () => sampler.next(rng));
  const trainer = OnnxTrainer.createGan(generator, { discriminator, features, adversarialWeight, optimizer: ADAM, ...options });
  let i = 0;
  let lastLosses: Record<string, number> = {};
  try {
    const samples = await timeRuns(async () => {
      lastLosses = await trainer.stepLosses(batches[i++ % batches.length], LR);
    }, timing);
    return { samples, lastLosses, provider: trainer.provider, notes: trainer.notes };
  } finally {
    await trainer.dispose();
  }
}

/** Why an onnx case cannot run here, or undefined. */
export function onnxSkipReason(): string | undefined {
  const status = onnxRuntimeStatus();
  return status.available ? undefined : status.reason;
}

export function stepExtra(
  timing: OnnxStepTiming,
  model: tf.LayersModel,
  inputShape: [number, number, number, number],
): Record<string, unknown> {
  const flops = countConvFlops(model, inputShape);
  return {
    provider: timing.provider,
    lastLoss: timing.lastLoss,
    forwardGflop: round(flops.forward / 1e9, 3),
    ...(timing.notes.length ? { notes: timing.notes } : {}),
  };
}
