/**
 * One training step of the onnx engine on the CPU and on the CUDA provider from the same weights
 * and batch, compared: prints one JSON line (loss on each, the largest relative RMS difference of
 * the updated weights, and which provider actually ran). Without the CUDA provider both runs use
 * the CPU and `cuda` says why. Used by scripts/gpu-check.sh.
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxTrainer } from '../engines/onnx/training';
import { onnxRuntimeStatus } from '../runtime/onnx/session';
import { initBackend } from '../runtime/tfjs';
import { Rng } from '../core/rng';
import { buildSrresnet, srresnetSampler } from './cases';

async function stepOn(cuda: boolean): Promise<{ loss: number; weights: Float32Array[]; provider: string | undefined }> {
  const model = buildSrresnet();
  const trainer = OnnxTrainer.create(model, { loss: 'mse', optimizer: { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, cuda });
  try {
    const batch = srresnetSampler().next(new Rng(7));
    const loss = await trainer.step(batch, 1e-4);
    trainer.writeModel();
    return { loss, weights: model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array)), provider: trainer.provider };
  } finally {
    await trainer.dispose();
    model.dispose();
  }
}

function maxRelRms(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, i) => {
    let num = 0;
    let den = 0;
    for (let j = 0; j < x.length; j++) {
      num += (x[j] - b[i][j]) ** 2;
      den += x[j] ** 2;
    }
    worst = Math.max(worst, Math.sqrt(num / Math.max(den, 1e-30)));
  });
  return worst;
}

export async function main(): Promise<void> {
  await initBackend({ backend: 'cpu' });
  const status = onnxRuntimeStatus();
  const cpu = await stepOn(false);
  const gpu = await stepOn(status.cudaInstalled);
  const result = {
    cuda: status.cudaInstalled ? gpu.provider === 'cuda' : `CUDA provider not installed (ONNX Runtime ${status.version ?? 'unavailable'})`,
    providers: [cpu.provider, gpu.provider],
    lossCpu: cpu.loss,
    lossOther: gpu.loss,
    lossRel: Math.abs(cpu.loss - gpu.loss) / Math.abs(cpu.loss),
    weightsMaxRelRms: maxRelRms(cpu.weights, gpu.weights),
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
