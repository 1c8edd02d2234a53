/**
 * The onnx engine's edge cases, printed as one JSON line: a NaN batch changes no weight, slot or
 * batch-norm statistic and does not count as a step; a layer kind without a rule is a one-line
 * error; RSS over many steps (argument: the number of steps) stays flat.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../../src/runtime/tfjs';
import { getArchitecture } from '../../../../../src/models';
import { OnnxTrainer, type TrainingBatch } from '../../../../../src/engines/onnx/training';
import { chooseTrainingEngine } from '../../../../../src/train/engine';

function batch(nan: boolean): TrainingBatch {
  const n = 2 * 8 * 8 * 3;
  const input = new Float32Array(n).map((_, i) => (i % 7) / 7);
  if (nan) input[5] = NaN;
  const target = new Float32Array(n * 4).map((_, i) => (i % 5) / 5);
  return { input, target, inputShape: [2, 8, 8, 3], targetShape: [2, 16, 16, 3] };
}

function snapshot(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
}

function same(a: Float32Array[], b: Float32Array[]): boolean {
  return a.every((x, i) => x.length === b[i].length && x.every((v, j) => Object.is(v, b[i][j])));
}

async function main(): Promise<void> {
  await initBackend({ backend: process.env.SR_BACKEND ?? 'wasm' });
  const steps = Number(process.argv[2] ?? 500);
  const spec = getArchitecture('srresnet');
  const model = spec.build(spec.options.parse({ blocks: 1, width: 8 }), 2, 1);
  const adam = { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
  const trainer = OnnxTrainer.create(model, { loss: 'mse', optimizer: adam, threads: 2 });
  const before = snapshot(model);
  const nanLoss = await trainer.step(batch(true), 1e-3);
  trainer.writeModel();
  const slots = trainer.optimizerWeights();
  const guard = {
    nanLoss: String(nanLoss),
    unchanged: same(before, snapshot(model)),
    slotsZero: slots.slice(1).every((s) => (s.tensor.dataSync() as Float32Array).every((v) => v === 0)),
    iterations: trainer.iterations,
  };
  tf.dispose(slots.map((s) => s.tensor));
  const goodLoss = await trainer.step(batch(false), 1e-3);
  trainer.writeModel();
  const changed = !same(before, snapshot(model));

  // RSS: after a warm-up (arena growth, JIT), many steps must not grow it.
  const good = batch(false);
  for (let i = 0; i < 20; i++) await trainer.step(good, 1e-3);
  global.gc?.();
  const rssStart = process.memoryUsage().rss;
  for (let i = 0; i < steps; i++) await trainer.step(good, 1e-3);
  global.gc?.();
  const rssGrowthMb = (process.memoryUsage().rss - rssStart) / 2 ** 20;
  await trainer.dispose();

  let missingRule = '';
  const input = tf.input({ shape: [8, 8, 3] });
  const odd = tf.model({
    inputs: input,
    outputs: tf.layers.gaussianNoise({ stddev: 0.1, name: 'noise' }).apply(input) as tf.SymbolicTensor,
  });
  try {
    OnnxTrainer.create(odd, { loss: 'mse', optimizer: adam });
  } catch (err) {
    missingRule = `${(err as Error).name}: ${(err as Error).message}`;
  }
  // Overlapping max-pool windows are a kind with a rule but a setting it does not write: refused
  // before any graph is built, so --engine auto trains such a network on tfjs.
  let overlappingPool = '';
  const pooled = tf.model({
    inputs: input,
    outputs: tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'pool' }).apply(input) as tf.SymbolicTensor,
  });
  try {
    OnnxTrainer.create(pooled, { loss: 'mse', optimizer: adam });
  } catch (err) {
    overlappingPool = `${(err as Error).name}: ${(err as Error).message}`;
  }
  const autoForPool = chooseTrainingEngine([pooled], 'auto');
  console.log(JSON.stringify({ guard, goodLoss, changed, rssGrowthMb, steps, missingRule, overlappingPool, autoForPool }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
