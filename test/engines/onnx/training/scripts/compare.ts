/**
 * Trains one network on the tfjs engine and on the onnx engine from the same weights and batches,
 * and prints one JSON line: each step's loss on both, and per weight the relative RMS difference
 * of the final values. Usage: compare.ts '<json spec>' (see Spec).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../../src/runtime/tfjs';
import { getArchitecture } from '../../../../../src/models';
import { Rng } from '../../../../../src/core/rng';
import { OnnxTrainer, type TrainingBatch } from '../../../../../src/engines/onnx/training';
import { randomiseWeights } from '../../../../helpers/checkpoints';
import { layerKindModel } from './layer-kinds';
import { feedsBatchNorm, relRms } from './drift';

interface Spec {
  /** A registry architecture, or 'kind:<name>' for one of the one-layer-kind networks of layer-kinds.ts. */
  arch: string;
  options: Record<string, unknown>;
  scale: number;
  steps: number;
  batch: number;
  patch: number;
  loss: 'mse' | 'l1';
  optimizer: 'adam' | 'sgd';
  lr: number;
  seed: number;
  /** Steps after which the onnx run is stopped, saved and resumed in a new trainer (resume test). */
  resumeAt?: number;
  /** Randomise weights (BN statistics, biases) instead of the fresh initialisation. */
  randomise?: boolean;
  /** A step whose batch is NaN (guard test). */
  nanStep?: number;
  /** The engine of the reference run (default tfjs); 'onnx' for the resume test. */
  referenceEngine?: 'tfjs' | 'onnx';
  /** ONNX Runtime threads of the onnx reference run (another summation order than the 2 of the run compared). */
  referenceThreads?: number;
  /** Nudge one input value of every batch by one float32 ulp in the compared run: how far rounding alone carries. */
  perturb?: boolean;
}

/** Random batches; the target has the network's output shape ('valid' SRCNN: the input's, cropped by the loss). */
function batches(spec: Spec, model: tf.LayersModel): TrainingBatch[] {
  const rng = new Rng(spec.seed);
  const out: TrainingBatch[] = [];
  const channels = model.inputs[0].shape[3] as number;
  const inputShape = [spec.batch, spec.patch, spec.patch, channels];
  const probe = tf.tidy(() => (model.predict(tf.zeros(inputShape)) as tf.Tensor).shape);
  const targetShape = spec.arch === 'srcnn' ? inputShape : [spec.batch, ...probe.slice(1)];
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  for (let s = 0; s < spec.steps; s++) {
    const input = new Float32Array(size(inputShape)).map(() => rng.next());
    const target = new Float32Array(size(targetShape)).map(() => rng.next());
    if (s === spec.nanStep) input[0] = NaN;
    out.push({ input, target, inputShape, targetShape });
  }
  return out;
}

function build(spec: Spec, reference = false): tf.LayersModel {
  if (spec.arch.startsWith('kind:')) return layerKindModel(spec.arch.slice(5), spec.seed, reference);
  const a = getArchitecture(spec.arch);
  const model = a.build(a.options.parse(spec.options), spec.scale, spec.seed);
  if (spec.randomise) randomiseWeights(model, spec.seed);
  return model;
}

function optimizerOf(spec: Spec): tf.Optimizer {
  return spec.optimizer === 'adam' ? tf.train.adam(spec.lr, 0.9, 0.999, 1e-8) : tf.train.momentum(spec.lr, 0.9);
}

function tfjsStep(model: tf.LayersModel, optimizer: tf.Optimizer, batch: TrainingBatch, loss: 'mse' | 'l1'): number {
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { value, grads } = optimizer.computeGradients(
    () =>
      tf.tidy(() => {
        const x = tf.tensor4d(batch.input, batch.inputShape as [number, number, number, number]);
        let y = tf.tensor(batch.target, batch.targetShape as number[]);
        const out = model.apply(x, { training: true }) as tf.Tensor;
        const crop = (y.shape[1]! - out.shape[1]!) / 2;
        if (crop > 0) y = y.slice([0, crop, crop, 0], [y.shape[0], out.shape[1]!, out.shape[2]!, y.shape[3]!]);
        return (loss === 'l1' ? tf.losses.absoluteDifference(y, out) : tf.losses.meanSquaredError(y, out)) as tf.Scalar;
      }),
    vars,
  );
  const result = value.dataSync()[0];
  if (Number.isFinite(result)) optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
  tf.dispose([value, ...Object.values(grads)]);
  return result;
}

async function main(): Promise<void> {
  await initBackend({ backend: process.env.SR_BACKEND ?? 'wasm' });
  const spec = JSON.parse(process.argv[2]) as Spec;
  const opt =
    spec.optimizer === 'adam'
      ? ({ kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const)
      : ({ kind: 'sgd', momentum: 0.9 } as const);

  const reference = build(spec, true);
  const data = batches(spec, reference);
  const optimizer = optimizerOf(spec);
  const tfjsLosses: number[] = [];
  let start = performance.now();
  let referenceSlots: { name: string; tensor: tf.Tensor }[];
  if (spec.referenceEngine === 'onnx') {
    const straight = OnnxTrainer.create(reference, { loss: spec.loss, optimizer: opt, threads: spec.referenceThreads ?? 2 });
    for (const batch of data) tfjsLosses.push(await straight.step(batch, spec.lr));
    straight.writeModel();
    referenceSlots = straight.optimizerWeights();
    await straight.dispose();
  } else {
    for (const batch of data) tfjsLosses.push(tfjsStep(reference, optimizer, batch, spec.loss));
    referenceSlots = await optimizer.getWeights();
  }
  const tfjsMs = (performance.now() - start) / data.length;

  const model = build(spec);
  let trainer = OnnxTrainer.create(model, { loss: spec.loss, optimizer: opt, threads: 2 });
  const onnxLosses: number[] = [];
  start = performance.now();
  for (let s = 0; s < data.length; s++) {
    if (spec.resumeAt !== undefined && s === spec.resumeAt) {
      // Save as a run would (weights into the model, slots in tfjs's format) and continue in a new trainer.
      trainer.writeModel();
      const slots = trainer.optimizerWeights();
      await trainer.dispose();
      trainer = OnnxTrainer.create(model, { loss: spec.loss, optimizer: opt, threads: 2 });
      trainer.setOptimizerWeights(slots);
      tf.dispose(slots.map((s) => s.tensor));
    }
    const batch = spec.perturb ? { ...data[s], input: Float32Array.from(data[s].input) } : data[s];
    if (spec.perturb) batch.input[1] = Math.fround(batch.input[1] * (1 + 2 ** -23));
    onnxLosses.push(await trainer.step(batch, spec.lr));
  }
  const onnxMs = (performance.now() - start) / data.length;
  trainer.writeModel();

  const lossRel = tfjsLosses.map((l, i) => Math.abs(l - onnxLosses[i]) / Math.max(Math.abs(l), 1e-12));
  // The weights both runs started from, for the guard test (a NaN step must change nothing).
  const weights = reference.weights.map((w, i) => ({
    name: w.name,
    /** A convolution bias that feeds only a batch norm: its true gradient is zero, so both engines move it by rounding noise. */
    beforeBatchNorm: feedsBatchNorm(reference, w.name),
    relRms: relRms(w.read().dataSync() as Float32Array, model.weights[i].read().dataSync() as Float32Array),
  }));
  const tfjsSlots = referenceSlots;
  const onnxSlots = trainer.optimizerWeights();
  // Slots are named after each model's own variables ('<variable>/m'), which differ between the two models.
  const ownName = (m: tf.LayersModel, i: number) =>
    (m.trainableWeights[i % m.trainableWeights.length] as unknown as { val: tf.Variable }).val.name;
  const kindOf = (name: string) => name.slice(name.lastIndexOf('/'));
  const slots = tfjsSlots.slice(1).map((s, i) => ({
    name: s.name,
    same: s.name === ownName(reference, i) + kindOf(s.name) && onnxSlots[i + 1].name === ownName(model, i) + kindOf(s.name),
    relRms: relRms(s.tensor.dataSync() as Float32Array, onnxSlots[i + 1].tensor.dataSync() as Float32Array),
    rms: Math.sqrt((s.tensor.square().mean().dataSync() as Float32Array)[0]),
  }));
  await trainer.dispose();
  console.log(
    JSON.stringify({
      tfjsLosses,
      onnxLosses,
      maxLossRel: Math.max(...lossRel.filter((v) => Number.isFinite(v))),
      weights,
      maxWeightRelRms: Math.max(...weights.map((w) => w.relRms)),
      slots,
      maxSlotRelRms: Math.max(...slots.map((s) => s.relRms)),
      slotNamesMatch: slots.every((s) => s.same) && tfjsSlots[0].tensor.dataSync()[0] === onnxSlots[0].tensor.dataSync()[0],
      tfjsMs,
      onnxMs,
      provider: trainer.provider,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
