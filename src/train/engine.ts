/**
 * Which engine runs a training step: tfjs (the layers model's own gradients) or onnx (the whole
 * step as one ONNX Runtime session, src/engines/onnx/training). 'auto' picks onnx when ONNX
 * Runtime loads and has a rule for every layer of the networks, and otherwise tfjs with a
 * one-line note saying why. The onnx task keeps tfjs's checkpoint format: it writes its weights
 * into the layers model before validation and checkpoints, and its optimizer stands in for a
 * tf.Optimizer where the run reads or restores slots, in tfjs's own slot format.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../config/schema';
import { SrError, UsageError } from '../core/errors';
import type { Batch } from '../data/patches';
import { OnnxTrainer, layersWithoutRule, type OptimizerSpec, type OptimizerWeights } from '../engines/onnx/training';
import { onnxRuntimeStatus } from '../runtime/onnx/session';
import { useCuda, type Device } from '../engines/onnx/device';
import type { StepLosses, TrainableOptimizer } from './task';

export const TRAINING_ENGINES = ['auto', 'tfjs', 'onnx'] as const;
export type TrainingEngineChoice = (typeof TRAINING_ENGINES)[number];
export type DeviceChoice = Device;

export interface EngineOptions {
  engine?: TrainingEngineChoice;
  device?: DeviceChoice;
  /** ONNX Runtime threads (default: every core). */
  threads?: number;
}

export interface EngineDecision {
  engine: 'tfjs' | 'onnx';
  /** Why 'auto' fell back to tfjs (one line). */
  note?: string;
}

/** Why the onnx engine cannot train these networks here, or undefined when it can. */
export function onnxTrainingUnavailable(models: tf.LayersModel[]): string | undefined {
  const status = onnxRuntimeStatus();
  if (!status.available) return status.reason;
  const missing = models.flatMap((m) => layersWithoutRule(m));
  if (missing.length) return `the onnx training engine has no rule for layer ${missing[0]}`;
  return undefined;
}

/** The engine for a run: the one asked for (an error if it cannot run), or auto's choice. */
export function chooseTrainingEngine(models: tf.LayersModel[], choice: TrainingEngineChoice = 'auto'): EngineDecision {
  if (choice === 'tfjs') return { engine: 'tfjs' };
  const why = onnxTrainingUnavailable(models);
  if (!why) return { engine: 'onnx' };
  if (choice === 'onnx') throw new UsageError(`--engine onnx: ${why}`);
  return { engine: 'tfjs', note: `training on tfjs: ${why}` };
}

export function optimizerSpec(train: TrainingConfig['train']): OptimizerSpec {
  return train.optimizer === 'sgd' ? { kind: 'sgd', momentum: train.momentum } : { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
}

/**
 * One role's optimizer of the onnx trainer as run.ts sees optimizers: a learning rate it sets
 * before each step, and slots it reads (getWeights) and restores (setWeights) in tfjs's format. The
 * tensors a getWeights hands out are this object's until the next call (run.ts frees only 'iter').
 */
class OnnxOptimizer {
  learningRate: number;
  private handedOut: OptimizerWeights = [];

  constructor(
    private readonly trainer: OnnxTrainer,
    private readonly role: string,
    lr: number,
  ) {
    this.learningRate = lr;
  }

  async getWeights(): Promise<OptimizerWeights> {
    this.release();
    const weights = this.trainer.optimizerWeights(this.role);
    this.handedOut = weights.slice(1);
    return weights;
  }

  async setWeights(weights: OptimizerWeights): Promise<void> {
    this.trainer.setOptimizerWeights(weights, this.role);
  }

  private release(): void {
    for (const w of this.handedOut) w.tensor.dispose();
    this.handedOut = [];
  }

  dispose(): void {
    this.release();
  }
}

export interface OnnxTaskParts {
  /** An optimizer per role ('model', and 'discriminator' for SRGAN). */
  optimizers: Record<string, TrainableOptimizer>;
  step(batch: Batch): Promise<StepLosses>;
  sync(): void;
  dispose(): Promise<void>;
}

function onnxTaskParts(trainer: OnnxTrainer, roles: string[], config: TrainingConfig): OnnxTaskParts {
  const optimizers = Object.fromEntries(roles.map((role) => [role, new OnnxOptimizer(trainer, role, config.train.lr)]));
  return {
    optimizers: optimizers as unknown as Record<string, TrainableOptimizer>,
    async step(batch) {
      try {
        // run.ts sets one learning rate on every optimizer.
        return (await trainer.stepLosses(batch, optimizers.model.learningRate)) as StepLosses;
      } catch (err) {
        if (err instanceof SrError) throw err;
        throw new SrError(`the onnx training step failed: ${(err as Error).message.split('\n')[0]}`);
      }
    },
    sync: () => trainer.writeModel(),
    dispose: () => trainer.dispose(),
  };
}

/** The onnx engine's step, slots and weight sync for one network under a pixel loss. */
export function onnxPixelTask(model: tf.LayersModel, config: TrainingConfig, options: EngineOptions): OnnxTaskParts {
  const trainer = OnnxTrainer.create(model, {
    loss: config.train.loss,
    optimizer: optimizerSpec(config.train),
    threads: options.threads,
    cuda: useCuda(options.device),
  });
  return onnxTaskParts(trainer, ['model'], config);
}

/** The generator's loss beyond its content term, as config.gan sets it; both engines' GAN steps take these. */
export function ganLossOptions(config: TrainingConfig): {
  adversarialWeight: number;
  pixelWeight: number;
  pixelLoss: NonNullable<TrainingConfig['gan']>['pixel_loss'];
  rollPeriod: number | undefined;
} {
  const gan = config.gan!;
  return {
    adversarialWeight: gan.adversarial_weight,
    pixelWeight: gan.pixel_weight,
    pixelLoss: gan.pixel_loss,
    rollPeriod: gan.roll_views ? config.scale : undefined,
  };
}

/** The onnx engine's SRGAN adversarial step: the generator ('model') and the discriminator, with the frozen VGG features. */
export function onnxGanTask(
  generator: tf.LayersModel,
  discriminator: tf.LayersModel,
  features: tf.LayersModel | undefined,
  config: TrainingConfig,
  options: EngineOptions,
): OnnxTaskParts {
  const trainer = OnnxTrainer.createGan(generator, {
    discriminator,
    features,
    ...ganLossOptions(config),
    optimizer: optimizerSpec(config.train),
    threads: options.threads,
    cuda: useCuda(options.device),
  });
  return onnxTaskParts(trainer, ['model', 'discriminator'], config);
}
