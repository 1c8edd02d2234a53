/** SRGAN pieces on tiny networks: D and G steps, VGG content loss, no memory growth. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { getArchitecture } from '../../src/models';
import { buildDiscriminator } from '../../src/models/discriminator';
import { loadLayersModelFromDir } from '../../src/models/files';
import { featureExtractor, loadVggFeatures } from '../../src/models/vgg';
import { mseContentLoss, vggContentLoss } from '../../src/losses/content';
import { ganStep, type GanNetworks } from '../../src/train/recipes/srgan';
import { trainableVariables } from '../../src/train/recipes/pixel';
import type { Batch } from '../../src/data/patches';
import { Rng } from '../../src/core/rng';
import { stepShift } from '../../src/core/roll';
import { describeWithShared, tempDir, useTestBackend } from '../helpers/env';
import { saveLayersModelDir, tinyVgg } from '../helpers/vgg';

beforeAll(useTestBackend);

function randomBatch(rng: Rng, n: number, lrSize: number, scale: number): Batch {
  const hrSize = lrSize * scale;
  const input = Float32Array.from({ length: n * lrSize * lrSize * 3 }, () => rng.next());
  const target = Float32Array.from({ length: n * hrSize * hrSize * 3 }, () => rng.next());
  return { input, target, inputShape: [n, lrSize, lrSize, 3], targetShape: [n, hrSize, hrSize, 3] };
}

function tinyGan(content: 'vgg' | 'mse'): GanNetworks & { vgg?: tf.LayersModel } {
  const generator = getArchitecture('srresnet').build({ blocks: 1, width: 8 }, 2, 1);
  const discriminator = buildDiscriminator({ patch_size: 16, width: 4, dense: 8 }, 1);
  const vgg = content === 'vgg' ? featureExtractor(tinyVgg(), 'block2_conv2') : undefined;
  return {
    generator,
    discriminator,
    generatorVars: trainableVariables(generator),
    discriminatorVars: trainableVariables(discriminator),
    generatorOptimizer: tf.train.adam(1e-3),
    discriminatorOptimizer: tf.train.adam(1e-3),
    content: vgg ? vggContentLoss(vgg) : mseContentLoss(),
    adversarialWeight: 1e-3,
    vgg,
  };
}

const snapshot = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
const changed = (a: number[][], b: number[][]) => a.some((w, i) => w.some((v, j) => v !== b[i][j]));

test('one D step then one G step change both networks, and the VGG content loss never changes VGG', () => {
  const gan = tinyGan('vgg');
  const [g0, d0, v0] = [snapshot(gan.generator), snapshot(gan.discriminator), snapshot(gan.vgg!)];
  const losses = ganStep(gan, randomBatch(new Rng(1), 2, 8, 2));
  for (const v of Object.values(losses)) expect(Number.isFinite(v)).toBe(true);
  expect(losses.discriminator).toBeGreaterThan(0);
  expect(losses.generator).toBeCloseTo(losses.content + 1e-3 * losses.adversarial, 5);
  expect(changed(g0, snapshot(gan.generator))).toBe(true);
  expect(changed(d0, snapshot(gan.discriminator))).toBe(true);
  expect(changed(v0, snapshot(gan.vgg!))).toBe(false);
  expect(gan.generatorVars.some((v) => gan.vgg!.weights.some((w) => (w as unknown as { val: tf.Variable }).val === v))).toBe(false);
});

test('the discriminator learns to separate HR from generated patches', () => {
  const gan = tinyGan('mse');
  const rng = new Rng(2);
  const first = ganStep(gan, randomBatch(rng, 4, 8, 2)).discriminator;
  let last = first;
  for (let i = 0; i < 15; i++) last = ganStep(gan, randomBatch(rng, 4, 8, 2)).discriminator;
  expect(last).toBeLessThan(first);
});

test.each([
  ['', undefined, 50],
  [', views rolled', 2, 15],
])('generator + discriminator steps do not grow memory%s: tensor count after %i steps equals that after 5', (_label, rollPeriod, steps) => {
  const gan = { ...tinyGan('vgg'), rollPeriod };
  const rng = new Rng(3);
  const counts: number[] = [];
  for (let i = 1; i <= steps; i++) {
    ganStep(gan, randomBatch(rng, 2, 8, 2));
    if (i === 5 || i === steps) counts.push(tf.memory().numTensors);
  }
  expect(counts[1]).toBe(counts[0]);
});

test('with roll_views the discriminator sees SR and HR rolled by the shift of the step; a period of 1 rolls nothing', () => {
  expect(stepShift(0, 2)).not.toEqual([0, 0]);
  const batch = randomBatch(new Rng(4), 2, 8, 2);
  const plain = ganStep(tinyGan('mse'), batch);
  // Step 0's shift is not zero at period 2: the discriminator sees other pixels at each position.
  expect(ganStep({ ...tinyGan('mse'), rollPeriod: 2 }, batch).discriminator).not.toBeCloseTo(plain.discriminator, 6);
  expect(ganStep({ ...tinyGan('mse'), rollPeriod: 1 }, batch)).toEqual(plain);
});

test('a layers model folder (model.json + shards) loads, and a broken one fails with one line', async () => {
  const dir = tempDir('sr-vgg-');
  const model = tinyVgg();
  await saveLayersModelDir(model, dir);
  const loaded = await loadLayersModelFromDir(dir);
  const x = tf.randomUniform([1, 8, 8, 3]);
  const diff = tf.tidy(() => tf.max(tf.abs((model.predict(x) as tf.Tensor).sub(loaded.predict(x) as tf.Tensor))).dataSync()[0]);
  expect(diff).toBe(0);
  fs.rmSync(path.join(dir, 'group1-shard1of1.bin'));
  await expect(loadLayersModelFromDir(dir)).rejects.toThrow(/weight file group1-shard1of1.bin is missing/);
  tf.dispose(x);
});

describeWithShared('the real VGG19 weights', ['weights', 'vgg19', 'model.json'], () => {
  it('load as VGG54 and VGG22 feature extractors with the expected shapes', async () => {
    const dir = path.dirname(path.resolve(__dirname, '..', '..', '..', 'shared', 'weights', 'vgg19', 'model.json'));
    const vgg54 = await loadVggFeatures(dir, 'vgg54');
    const vgg22 = await loadVggFeatures(dir, 'vgg22');
    const x = tf.randomUniform([1, 32, 32, 3]) as tf.Tensor4D;
    const f54 = vgg54.predict(x) as tf.Tensor;
    const f22 = vgg22.predict(x) as tf.Tensor;
    expect(f54.shape).toEqual([1, 2, 2, 512]);
    expect(f22.shape).toEqual([1, 16, 16, 128]);
    expect(vgg54.trainableWeights).toHaveLength(0);
    tf.dispose([x, f54, f22]);
  });
});
