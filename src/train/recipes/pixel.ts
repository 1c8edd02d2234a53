/**
 * The `pixel` recipe: one network trained with a pixel loss (MSE or L1): SRCNN, FSRCNN, SRResNet,
 * and SRGAN's pre-training phase. The run itself (data, loop, checkpoints, resume) is run.ts's;
 * this is the task: one network, one optimizer, one loss.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../../config/schema';
import type { Batch } from '../../data/patches';
import { pixelLoss } from '../../losses/pixel';
import { findArchitecture, getArchitecture } from '../../models';
import { runTraining, type TrainRunOptions, type TrainSummary } from '../run';
import { initialWeights, makeOptimizer, minimizeIfFinite, trainableVariables, type TrainingTask } from '../task';
import type { TrainingRecipe } from './recipe';
import { chooseTrainingEngine, onnxPixelTask, type EngineOptions } from '../engine';
import type { InitOrigin, LoadedCheckpoint } from '../../checkpoint';

export { makeOptimizer, trainableVariables } from '../task';
export type { TrainEvent, TrainRunOptions, TrainSummary } from '../run';

/** Crops the centre of a [N, H, W, C] target to the network's output size ('valid' padding). */
export function centreCrop(target: tf.Tensor4D, shrink: number): tf.Tensor4D {
  if (shrink === 0) return target;
  const [n, h, w, c] = target.shape;
  return target.slice([0, shrink, shrink, 0], [n, h - 2 * shrink, w - 2 * shrink, c]);
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
  return minimizeIfFinite(optimizer, vars, () =>
    tf.tidy(() => {
      const x = tf.tensor4d(batch.input, batch.inputShape);
      const y = centreCrop(tf.tensor4d(batch.target, batch.targetShape), shrink);
      const out = model.apply(x, { training: true }) as tf.Tensor4D;
      return pixelLoss(loss, out, y);
    }),
  );
}

export async function pixelTask(
  config: TrainingConfig,
  resumed: LoadedCheckpoint | undefined,
  engineOptions: EngineOptions = {},
): Promise<TrainingTask> {
  const spec = getArchitecture(config.model);
  let model: tf.LayersModel;
  let init: InitOrigin | undefined;
  if (resumed) {
    model = resumed.networks.model;
  } else {
    model = spec.build(config.network, config.scale, config.train.seed);
    if (config.init) init = await initialWeights(config, model);
  }
  // Callers of the library get tfjs unless they ask; `sr train` asks for auto by default.
  const decision = chooseTrainingEngine([model], engineOptions.engine ?? 'tfjs');
  if (decision.engine === 'onnx') {
    // The step graph crops the target to the output itself ('valid' padding), from the shapes.
    const onnx = onnxPixelTask(model, config, engineOptions);
    return {
      network: model,
      companions: {},
      optimizers: onnx.optimizers,
      step: onnx.step,
      sync: onnx.sync,
      dispose: () => void onnx.dispose(),
      engine: { name: 'onnx' },
      init,
    };
  }
  const optimizer = makeOptimizer(config.train);
  const vars = trainableVariables(model);
  const shrink = spec.shrink(config.network);
  return {
    engine: { name: 'tfjs', note: decision.note },
    network: model,
    companions: {},
    optimizers: { model: optimizer },
    step: async (batch) => ({ loss: trainStep(model, optimizer, batch, shrink, config.train.loss, vars) }),
    dispose: () => undefined,
    init,
  };
}

export function trainSupervised(options: TrainRunOptions): Promise<TrainSummary> {
  return runTraining(options, ['model'], (resumed) => pixelTask(options.config, resumed, options));
}

export const pixelRecipe: TrainingRecipe = {
  name: 'pixel',
  description: 'one network with a pixel loss (MSE or L1): srcnn, fsrcnn, srresnet, ...',
  handles: (command) => findArchitecture(command) !== undefined,
  config: (architecture) => ({
    command: architecture,
    architecture,
    fromFile: (raw) => raw,
    label: () => architecture,
  }),
  train: trainSupervised,
};
