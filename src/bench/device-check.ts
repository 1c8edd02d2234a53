/**
 * One training step of the onnx engine on the CPU and on the CUDA provider from the same weights
 * and batch, compared: prints one JSON line (loss on each, the largest relative RMS difference of
 * the updated weights, and which provider actually ran), for the SRResNet pixel step and, under
 * `gan`, for an SRGAN adversarial step with a VGG19-shaped content network (every layer kind the
 * GAN graph has: strided convolutions, LeakyReLU, dense, max pooling). Without the CUDA provider
 * both runs use the CPU and `cuda` says why. Used by scripts/gpu-check.sh.
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxTrainer, type TrainingBatch } from '../engines/onnx/training';
import { getArchitecture } from '../models';
import { buildDiscriminator } from '../models/discriminator';
import { buildVgg19, featureExtractor, VGG19_BLOCK_WIDTHS, VGG19_BLOCKS, VGG_LAYERS } from '../models/vgg';
import { onnxRuntimeStatus } from '../runtime/onnx/session';
import { initBackend } from '../runtime/tfjs';
import { Rng } from '../core/rng';
import { buildSrresnet, randomPatchSampler, srresnetSampler } from './cases';
import { relRms } from './drift';

const ADAM = { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
const snapshot = (models: tf.LayersModel[]) =>
  models.flatMap((m) => m.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array)));

async function stepOn(cuda: boolean): Promise<{ loss: number; weights: Float32Array[]; provider: string | undefined }> {
  const model = buildSrresnet();
  const trainer = OnnxTrainer.create(model, { loss: 'mse', optimizer: ADAM, cuda });
  try {
    const batch = srresnetSampler().next(new Rng(7));
    const loss = await trainer.step(batch, 1e-4);
    trainer.writeModel();
    return { loss, weights: snapshot([model]), provider: trainer.provider };
  } finally {
    await trainer.dispose();
    model.dispose();
  }
}

/** One adversarial step of a small SRGAN (seeded networks, `features` frozen and shared) on `batch`. */
async function ganStepOn(
  cuda: boolean,
  features: tf.LayersModel,
  batch: TrainingBatch,
): Promise<{ loss: number; weights: Float32Array[]; provider: string | undefined }> {
  const spec = getArchitecture('srresnet');
  const generator = spec.build(spec.options.parse({ blocks: 2, width: 16 }), 4, 11);
  const discriminator = buildDiscriminator({ patch_size: 96, width: 16, dense: 64 }, 13);
  const trainer = OnnxTrainer.createGan(generator, { discriminator, features, adversarialWeight: 1e-3, optimizer: ADAM, cuda });
  try {
    const loss = await trainer.step(batch, 1e-4);
    trainer.writeModel();
    return { loss, weights: snapshot([generator, discriminator]), provider: trainer.provider };
  } finally {
    await trainer.dispose();
    generator.dispose();
    discriminator.dispose();
  }
}

function compared(cpu: { loss: number; weights: Float32Array[]; provider?: string }, other: typeof cpu) {
  return {
    providers: [cpu.provider, other.provider],
    lossCpu: cpu.loss,
    lossOther: other.loss,
    lossRel: Math.abs(cpu.loss - other.loss) / Math.abs(cpu.loss),
    weightsMaxRelRms: maxRelRms(cpu.weights, other.weights),
  };
}

function maxRelRms(a: Float32Array[], b: Float32Array[]): number {
  return Math.max(0, ...a.map((x, i) => relRms(x, b[i])));
}

export async function main(): Promise<void> {
  await initBackend({ backend: 'cpu' });
  const status = onnxRuntimeStatus();
  const cpu = await stepOn(false);
  const gpu = await stepOn(status.cudaInstalled);
  // Random weights in VGG19's shape (an eighth of its widths): the graph is what is compared, not the features.
  const features = featureExtractor(
    buildVgg19(VGG19_BLOCK_WIDTHS.flatMap((w, b) => Array.from({ length: VGG19_BLOCKS[b] }, () => w / 8))),
    VGG_LAYERS.vgg54,
  );
  const batch = randomPatchSampler({ inputSide: 48, scale: 4, channels: 3, patch: 24, batch: 2 }).next(new Rng(9));
  const ganCpu = await ganStepOn(false, features, batch);
  const ganGpu = await ganStepOn(status.cudaInstalled, features, batch);
  features.dispose();
  const result = {
    cuda: status.cudaInstalled
      ? gpu.provider === 'cuda' && ganGpu.provider === 'cuda'
      : `CUDA provider not installed (ONNX Runtime ${status.version ?? 'unavailable'})`,
    ...compared(cpu, gpu),
    gan: compared(ganCpu, ganGpu),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  tf.disposeVariables();
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`device-check: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
