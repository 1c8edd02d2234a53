/** SRCNN-sized training on generated images: loss falls, exact resume, checkpoints, no leaks. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { parseConfig, trainingConfigSchema, type TrainingConfig } from '../../src/config';
import { writeImage } from '../../src/image/io';
import { loadUpscaler } from '../../src/infer';
import { getArchitecture } from '../../src/models';
import { PatchSampler } from '../../src/data/patches';
import { loadTrainingSet } from '../../src/data/training-set';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint, FORMAT } from '../../src/checkpoint';
import { readLog } from '../../src/train/log';
import { makeOptimizer, trainableVariables, trainStep, trainSupervised } from '../../src/train/recipes/pixel';
import { Rng } from '../../src/core/rng';
import { tempDir, useTestBackend } from '../helpers/env';
import { patternImage } from '../helpers/images';

const root = tempDir('sr-train-');
const data = path.join(root, 'data');

function tinyConfig(overrides: Partial<TrainingConfig['train']> = {}, out = path.join(root, 'run')): TrainingConfig {
  return parseConfig(
    trainingConfigSchema,
    {
      model: 'srcnn',
      scale: 3,
      network: { kernels: [5, 3, 3], widths: [8, 4] },
      data: { train: data, val: data, patch_size: 15, batch_size: 4 },
      train: { iterations: 40, lr: 0.003, val_every: 20, save_every: 10, log_every: 5, seed: 3, ...overrides },
      out,
    },
    'test',
  );
}

function weightsOf(dir: string): Float32Array {
  const buf = fs.readFileSync(path.join(dir, 'weights.bin'));
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

beforeAll(async () => {
  await useTestBackend();
  fs.mkdirSync(data);
  await writeImage(path.join(data, 'a.png'), patternImage(60, 48, 3));
  await writeImage(path.join(data, 'b.png'), patternImage(45, 45, 1));
  fs.writeFileSync(path.join(data, 'broken.png'), 'not a png');
});

test('a validation subset (val_images) of a training folder is held out of training; a whole folder is not', async () => {
  const starts: number[] = [];
  const onEvent = (e: { type: string; trainImages?: number }) => e.type === 'start' && starts.push(e.trainImages!);
  const subset = tinyConfig({ iterations: 2, val_every: 2 }, path.join(root, 'held-out'));
  subset.data.val_images = 1;
  await trainSupervised({ config: subset, out: subset.out!, resume: false, onEvent });
  const whole = tinyConfig({ iterations: 2, val_every: 2 }, path.join(root, 'shared-folder'));
  await trainSupervised({ config: whole, out: whole.out!, resume: false, onEvent });
  // data/ holds a.png and b.png (and an unreadable file): one validates in the first run.
  expect(starts).toEqual([1, 2]);
});

test('a tiny SRCNN run trains: the loss falls, best/last checkpoints, log and curves are written', async () => {
  const skipped: string[] = [];
  const config = tinyConfig({ iterations: 60, val_every: 30 }, path.join(root, 'falls'));
  const summary = await trainSupervised({
    config,
    out: config.out!,
    resume: false,
    onEvent: (e) => e.type === 'skipped' && skipped.push(e.file),
  });
  expect(summary.iteration).toBe(60);
  // Once as training data, once as validation data.
  expect(skipped).toEqual([path.join(data, 'broken.png'), path.join(data, 'broken.png')]);
  const log = readLog(path.join(config.out!, 'log.jsonl'));
  const losses = log.filter((r) => typeof r.loss === 'number').map((r) => r.loss as number);
  expect(losses).toHaveLength(12);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.7);
  expect(log.filter((r) => typeof r.val_psnr === 'number')).toHaveLength(2);
  for (const f of ['last/MANIFEST', 'best/MANIFEST', 'curves.png', 'config.json'])
    expect(fs.existsSync(path.join(config.out!, f))).toBe(true);
  // Each checkpoint's meta carries its own weights' validation score, as logged.
  const scoreAt = (iter: number) => log.find((r) => r.iter === iter && typeof r.val_psnr === 'number')!.val_psnr;
  for (const which of ['last', 'best']) {
    const { validation, training } = readCheckpointMeta(path.join(config.out!, which));
    expect(validation!.iteration).toBe(training!.iterations);
    expect(validation!.psnr).toBe(scoreAt(validation!.iteration));
  }
  // The checkpoint works as a model for `sr upscale`/`sr eval`.
  const upscaler = await loadUpscaler({ model: config.out! });
  expect(upscaler.scale).toBe(3);
  const out = await upscaler.upscale(tf.zeros([10, 12, 3]) as tf.Tensor3D);
  expect(out.shape).toEqual([30, 36, 3]);
  tf.dispose(out);
  upscaler.dispose();
});

test('a run stopped between validations saves a last/ that claims no validation score; best/ keeps its own', async () => {
  const config = tinyConfig({ iterations: 60, val_every: 20 }, path.join(root, 'stopped'));
  let reached = 0;
  const summary = await trainSupervised({
    config,
    out: config.out!,
    resume: false,
    onEvent: (e) => e.type === 'step' && (reached = e.iteration),
    shouldStop: () => reached >= 25,
  });
  expect(summary).toMatchObject({ iteration: 25, stoppedEarly: true, best: { iteration: 20 } });
  expect(readCheckpointMeta(path.join(config.out!, 'last')).validation).toBeUndefined();
  expect(readCheckpointMeta(path.join(config.out!, 'best')).validation).toMatchObject({ iteration: 20, psnr: summary.best!.psnr });
});

test('--resume continues exactly: N steps + resume + N steps equals 2N steps', async () => {
  const straight = tinyConfig({ iterations: 30 }, path.join(root, 'straight'));
  await trainSupervised({ config: straight, out: straight.out!, resume: false });
  const split = tinyConfig({ iterations: 15 }, path.join(root, 'split'));
  await trainSupervised({ config: split, out: split.out!, resume: false });
  const rest = { ...split, train: { ...split.train, iterations: 30 } };
  const events: string[] = [];
  await trainSupervised({
    config: rest,
    out: rest.out!,
    resume: true,
    onEvent: (e) => e.type === 'start' && events.push(`${e.resumed}@${e.iteration}`),
  });
  expect(events).toEqual(['true@15']);
  const a = weightsOf(path.join(straight.out!, 'last'));
  const b = weightsOf(path.join(split.out!, 'last'));
  expect(b.length).toBe(a.length);
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  // Adam's bias correction is recomputed as a power on resume instead of a running product: the
  // only difference is float rounding.
  expect(maxDiff).toBeLessThan(1e-6);
  // The log continues without repeating iterations.
  const iters = readLog(path.join(split.out!, 'log.jsonl'))
    .filter((r) => r.loss !== undefined)
    .map((r) => r.iter);
  expect(iters).toEqual([5, 10, 15, 20, 25, 30]);
});

test('a run folder is not overwritten without --resume, and a mismatched checkpoint is refused', async () => {
  const config = tinyConfig({ iterations: 10 }, path.join(root, 'guard'));
  await trainSupervised({ config, out: config.out!, resume: false });
  await expect(trainSupervised({ config, out: config.out!, resume: false })).rejects.toThrow(/already holds a training run/);
  const otherScale = { ...config, scale: 2 };
  await expect(trainSupervised({ config: otherScale, out: config.out!, resume: true })).rejects.toThrow(
    /trained for x3, but the config asks for x2/,
  );
  await expect(loadUpscaler({ model: config.out!, scale: 4 })).rejects.toThrow(/trained for x3, not x4/);
  const otherArchitecture = parseConfig(trainingConfigSchema, { ...config, model: 'srresnet', network: {}, scale: 3 }, 'test');
  await expect(trainSupervised({ config: otherArchitecture, out: config.out!, resume: true })).rejects.toThrow(
    /holds a srcnn network, but the config trains srresnet/,
  );
});

test('checkpoints round-trip and refuse incomplete or corrupted folders', async () => {
  const spec = getArchitecture('srcnn');
  const model = spec.build({ kernels: [3, 1, 3], widths: [4, 2], padding: 'valid' }, 2, 9);
  const dir = path.join(root, 'ckpt');
  const meta = {
    format: FORMAT,
    architecture: 'srcnn',
    model: 'srcnn',
    options: {},
    scale: 2,
    inputSpace: 'y' as const,
    inputIsUpsampled: true,
    channels: 1,
    createdAt: 'now',
  };
  await saveCheckpoint(dir, { meta, networks: { model }, state: { iteration: 7 } });
  const loaded = await loadCheckpoint(dir);
  expect(loaded.state).toEqual({ iteration: 7 });
  const x = tf.randomUniform([1, 9, 9, 1], 0, 1, 'float32', 1);
  const diff = tf.tidy(
    () => tf.max(tf.abs((model.predict(x) as tf.Tensor).sub(loaded.networks.model.predict(x) as tf.Tensor))).dataSync()[0],
  );
  expect(diff).toBe(0);
  // Saving again replaces the folder as a whole and leaves no temp folders behind.
  await saveCheckpoint(dir, { meta, networks: { model }, state: { iteration: 8 } });
  expect(fs.readdirSync(root).filter((f) => f.includes('.tmp-') || f.includes('.old-'))).toEqual([]);
  const bytes = fs.readFileSync(path.join(dir, 'weights.bin'));
  bytes[0] ^= 0xff;
  fs.writeFileSync(path.join(dir, 'weights.bin'), bytes);
  await expect(loadCheckpoint(dir)).rejects.toThrow(/weights.bin does not match its manifest/);
  fs.rmSync(path.join(dir, 'MANIFEST'));
  await expect(loadCheckpoint(dir)).rejects.toThrow(/incomplete/);
  tf.dispose([x]);
  model.dispose();
  loaded.networks.model.dispose();
});

test('training steps do not grow memory: tensor count after 50 steps equals that after 5', async () => {
  const spec = getArchitecture('srcnn');
  const pairs = await loadTrainingSet(data, { scale: 2, space: 'y', inputIsUpsampled: true, minHrSize: 15 });
  const sampler = new PatchSampler(pairs, { inputSize: 15, scale: 1, batchSize: 4, augment: true });
  const model = spec.build({ kernels: [9, 5, 5], widths: [16, 8], padding: 'same' }, 2, 1);
  const optimizer = makeOptimizer(tinyConfig().train);
  const vars = trainableVariables(model);
  const rng = new Rng(1);
  const counts: number[] = [];
  for (let i = 1; i <= 50; i++) {
    trainStep(model, optimizer, sampler.next(rng), 0, 'mse', vars);
    if (i === 5 || i === 50) counts.push(tf.memory().numTensors);
  }
  expect(counts[1]).toBe(counts[0]);
  model.dispose();
  optimizer.dispose();
});

describe('config validation', () => {
  it('names an unknown key and a wrong type', () => {
    const base = { model: 'srcnn', scale: 3, data: { train: 'x', patch_size: 33, batch_size: 16 }, train: { iterations: 10, lr: 0.001 } };
    expect(() => parseConfig(trainingConfigSchema, { ...base, trian: {} }, 'c.yaml')).toThrow("c.yaml: unknown key 'trian'");
    expect(() => parseConfig(trainingConfigSchema, { ...base, train: { ...base.train, lr: 'fast' } }, 'c.yaml')).toThrow(
      /c.yaml: train.lr: /,
    );
    expect(() => parseConfig(trainingConfigSchema, { ...base, data: { ...base.data, patchsize: 3 } }, 'c.yaml')).toThrow(
      "unknown key 'data.patchsize'",
    );
    expect(() => parseConfig(trainingConfigSchema, { ...base, network: { kernels: [9, 5] } }, 'c.yaml')).toThrow(/network.kernels/);
    expect(() => parseConfig(trainingConfigSchema, { ...base, network: { depth: 3 } }, 'c.yaml')).toThrow(/depth/);
  });
});

test('--init starts a new run (another scale) from a checkpoint and refuses a different architecture', async () => {
  const source = tinyConfig({ iterations: 10 }, path.join(root, 'init-src'));
  await trainSupervised({ config: source, out: source.out!, resume: false });
  const fine = { ...tinyConfig({ iterations: 1 }, path.join(root, 'init-x2')), scale: 2, init: path.join(source.out!, 'last') };
  const starts: number[] = [];
  await trainSupervised({
    config: { ...fine, data: { ...fine.data, val: undefined } },
    out: fine.out!,
    resume: false,
    onEvent: (e) => e.type === 'start' && starts.push(e.iteration),
  });
  expect(starts).toEqual([0]);
  // One small step away from the source weights, not a fresh random start.
  const a = weightsOf(path.join(source.out!, 'last'));
  const b = weightsOf(path.join(fine.out!, 'last'));
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  expect(maxDiff).toBeLessThan(0.01);
  // The new run's meta says what it started from and how long that had trained.
  const sourceTraining = readCheckpointMeta(path.join(source.out!, 'last')).training!;
  expect(readCheckpointMeta(path.join(fine.out!, 'last')).training!.init).toEqual({
    dir: fine.init,
    iterations: 10,
    seconds: sourceTraining.seconds,
  });
  const wider = { ...fine, out: path.join(root, 'init-bad'), network: { ...fine.network, widths: [16, 4] } };
  await expect(trainSupervised({ config: wider, out: wider.out!, resume: false })).rejects.toThrow(/does not fit/);
});
