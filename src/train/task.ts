/**
 * What one training step does, and what it owns: a TrainingTask holds the networks and optimizers
 * of a recipe (a pixel loss on one network, SRGAN's two) and updates them on a batch. The pieces
 * recipes build tasks from (optimizers, their saved slots, gradients applied only when the loss is
 * finite, --init weights) are here too; the run around a task (data, loop, checkpoints) is run.ts's.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../config/schema';
import { UsageError } from '../core/errors';
import type { Batch } from '../data/patches';
import { loadCheckpoint, type InitOrigin, type LoadedCheckpoint, type NamedWeights } from '../checkpoint';
import { sameNetwork } from '../models';

/** Losses of one step by name; `loss` is the one minimised. */
export type StepLosses = { loss: number } & Record<string, number>;

export type TrainableOptimizer = tf.Optimizer & { learningRate: number };

export interface TrainingTask {
  /** The network validated, and saved in the checkpoint's `model` role (what inference loads). */
  network: tf.LayersModel;
  /** Networks saved beside it by role (SRGAN's 'discriminator'). */
  companions: Record<string, tf.LayersModel>;
  /** Optimizers by the role of the network they train ('model', 'discriminator'). */
  optimizers: Record<string, TrainableOptimizer>;
  /**
   * One update on a batch; an update whose loss is not finite is not applied. Asynchronous, so an
   * engine outside tfjs (ONNX Runtime) can run it.
   */
  step(batch: Batch): Promise<StepLosses>;
  /** Frees what the task owns beyond its networks (e.g. the VGG19 of the content loss). */
  dispose(): void;
  /**
   * Brings `network` and the companions up to date before validation and checkpoints (the onnx
   * engine keeps weights in ONNX Runtime between steps); absent on tfjs, whose weights are the model's.
   */
  sync?(): void | Promise<void>;
  /** The engine running the step ('onnx (...)'; tfjs when absent), and why auto did not pick onnx. */
  engine?: { name: string; note?: string };
  /** The `--init` checkpoint a fresh task started from. */
  init?: InitOrigin;
}

/** How a task comes to be: fresh (from the config, and its `init`) or from the run's last checkpoint. */
export type TaskFactory = (resumed: LoadedCheckpoint | undefined) => Promise<TrainingTask>;

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
    if (meta.architecture !== config.model || !sameNetwork(config.model, meta.options, config.network)) {
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
