/**
 * SRGAN's adversarial step on both engines from the same weights and batches (a small generator,
 * discriminator and VGG-like feature net): prints one JSON line with every step's four losses on
 * each engine and the final weights' and slots' relative RMS differences.
 * Usage: gan-compare.ts '{"steps": 10, "content": "vgg" | "mse", "seed": 1, "pixelWeight": 0.01}'
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../../src/runtime/tfjs';
import { getArchitecture } from '../../../../../src/models';
import { buildDiscriminator } from '../../../../../src/models/discriminator';
import { Rng } from '../../../../../src/core/rng';
import type { TrainingConfig } from '../../../../../src/config/schema';
import { mseContentLoss, vggContentLoss } from '../../../../../src/losses/content';
import { ganNetworks, ganStep } from '../../../../../src/train/recipes/srgan';
import { OnnxTrainer, type TrainingBatch } from '../../../../../src/engines/onnx/training';
import { randomiseWeights } from '../../../../helpers/checkpoints';
import { tinyVgg } from '../../../../helpers/vgg';
import { feedsBatchNorm, relRms } from './drift';

interface Spec {
  steps: number;
  content: 'vgg' | 'mse';
  seed: number;
  lr?: number;
  /** LR patch side (HR is twice) and batch size. */
  patch?: number;
  batch?: number;
  /**
   * Compare the onnx engine with itself, one input value of every batch nudged by one float32 ulp,
   * instead of with tfjs: how far float32 rounding alone carries these dynamics.
   */
  perturb?: boolean;
  /** A pixel loss added to the generator's (gan.pixel_weight, gan.pixel_loss). */
  pixelWeight?: number;
  pixelLoss?: 'l1' | 'mse';
  /** gan.roll_views: VGG and D see SR and HR rolled by each step's shift below this period (the scale, 2, here). */
  rollPeriod?: number;
}

function networks(seed: number, patch: number): { generator: tf.LayersModel; discriminator: tf.LayersModel } {
  const a = getArchitecture('srresnet');
  const generator = a.build(a.options.parse({ blocks: 1, width: 8, global_skip: 'bilinear', tail_kernel: 3 }), 2, seed);
  const discriminator = buildDiscriminator({ patch_size: 2 * patch, width: 4, dense: 8 }, seed);
  randomiseWeights(generator, seed);
  randomiseWeights(discriminator, seed + 1);
  return { generator, discriminator };
}

async function main(): Promise<void> {
  await initBackend({ backend: process.env.SR_BACKEND ?? 'wasm' });
  const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
  const lr = spec.lr ?? 1e-3;
  const rng = new Rng(spec.seed);
  const [p, n] = [spec.patch ?? 8, spec.batch ?? 2];
  const inputShape: [number, number, number, number] = [n, p, p, 3];
  const targetShape: [number, number, number, number] = [n, 2 * p, 2 * p, 3];
  const batches: TrainingBatch[] = Array.from({ length: spec.steps }, () => ({
    input: new Float32Array(n * p * p * 3).map(() => rng.next()),
    target: new Float32Array(n * 4 * p * p * 3).map(() => rng.next()),
    inputShape,
    targetShape,
  }));
  const adam = { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
  const features = spec.content === 'vgg' ? tinyVgg() : undefined;
  if (features) randomiseWeights(features, spec.seed + 2);

  const ref = networks(spec.seed, p);
  const pixel = { pixelWeight: spec.pixelWeight ?? 0, pixelLoss: spec.pixelLoss ?? 'l1', rollPeriod: spec.rollPeriod };
  const gan = {
    adversarial_weight: 1e-3,
    pixel_weight: pixel.pixelWeight,
    pixel_loss: pixel.pixelLoss,
    roll_views: spec.rollPeriod !== undefined,
  };
  const config = { scale: 2, train: { optimizer: 'adam', lr, momentum: 0.9 }, gan } as unknown as TrainingConfig;
  const reference = ganNetworks(ref.generator, ref.discriminator, features ? vggContentLoss(features) : mseContentLoss(), config);
  const referenceTrainer = spec.perturb
    ? OnnxTrainer.createGan(ref.generator, {
        discriminator: ref.discriminator,
        features,
        adversarialWeight: 1e-3,
        ...pixel,
        optimizer: adam,
        threads: 2,
      })
    : undefined;
  const tfjsLosses: Record<string, number>[] = [];
  for (const batch of batches) {
    if (referenceTrainer) {
      tfjsLosses.push(await referenceTrainer.stepLosses(batch, lr));
      continue;
    }
    const l = ganStep(reference, { ...batch, inputShape, targetShape });
    const losses: Record<string, number> = { loss: l.generator, content: l.content, adversarial: l.adversarial, d_loss: l.discriminator };
    if (l.pixel !== undefined) losses.pixel = l.pixel;
    tfjsLosses.push(losses);
  }
  referenceTrainer?.writeModel();

  const ours = networks(spec.seed, p);
  const trainer = OnnxTrainer.createGan(ours.generator, {
    discriminator: ours.discriminator,
    features,
    adversarialWeight: 1e-3,
    ...pixel,
    optimizer: adam,
    threads: 2,
  });
  const onnxLosses: Record<string, number>[] = [];
  for (const batch of batches) {
    const nudged = spec.perturb ? { ...batch, input: Float32Array.from(batch.input) } : batch;
    if (spec.perturb) nudged.input[1] = Math.fround(nudged.input[1] * (1 + 2 ** -23));
    onnxLosses.push(await trainer.stepLosses(nudged, lr));
  }
  trainer.writeModel();

  const lossRel = Math.max(
    ...tfjsLosses.flatMap((l, i) => Object.entries(l).map(([k, v]) => Math.abs(v - onnxLosses[i][k]) / Math.max(Math.abs(v), 1e-12))),
  );
  const weights = [
    ...ref.generator.weights.map((w, i) => ({
      name: `G ${w.name}`,
      beforeBatchNorm: feedsBatchNorm(ref.generator, w.name),
      relRms: relRms(w.read().dataSync() as Float32Array, ours.generator.weights[i].read().dataSync() as Float32Array),
    })),
    ...ref.discriminator.weights.map((w, i) => ({
      name: `D ${w.name}`,
      beforeBatchNorm: feedsBatchNorm(ref.discriminator, w.name),
      relRms: relRms(w.read().dataSync() as Float32Array, ours.discriminator.weights[i].read().dataSync() as Float32Array),
    })),
  ];
  const slotDiff = async (o: tf.Optimizer, role: string) => {
    const a = referenceTrainer ? referenceTrainer.optimizerWeights(role) : await o.getWeights();
    const b = trainer.optimizerWeights(role);
    return a.slice(1).map((s, i) => ({
      name: `${role} ${s.name}`,
      relRms: relRms(s.tensor.dataSync() as Float32Array, b[i + 1].tensor.dataSync() as Float32Array),
    }));
  };
  const slots = [
    ...(await slotDiff(reference.generatorOptimizer, 'model')),
    ...(await slotDiff(reference.discriminatorOptimizer, 'discriminator')),
  ];
  await trainer.dispose();
  await referenceTrainer?.dispose();
  console.log(
    JSON.stringify({
      tfjsLosses,
      onnxLosses,
      lossRel,
      weights,
      maxWeightRelRms: Math.max(...weights.map((w) => w.relRms)),
      maxSlotRelRms: Math.max(...slots.map((s) => s.relRms)),
      slots,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
