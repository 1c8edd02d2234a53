/**
 * VGG19 from a Keras HDF5 weights file: files written here with the Keras layout (the VGG19
 * structure with a few channels per layer), loaded by sr, compared with the tfjs model that holds
 * the same weights; strict errors for missing layers, wrong shapes and non-HDF5 files; and, when
 * ../shared has it, the real VGG19 both as the tfjs folder and converted to a Keras file.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadLayersModelFromDir } from '../../src/models/files';
import { inspectKerasWeights, readKerasWeights } from '../../src/models/keras-h5';
import {
  KERAS_VGG19_NOTOP_FILE,
  VGG19_CONV_LAYERS,
  buildVgg19,
  checkVgg19Weights,
  featureExtractor,
  loadVgg,
  loadVggFeatures,
} from '../../src/models/vgg';
import { SrError } from '../../src/core/errors';
import { describeWithShared, tempDir, useTestBackend } from '../helpers/env';
import { layersOfModel, writeKerasH5, type TestLayer } from './keras-h5-writer';

beforeAll(useTestBackend);

/** Channels of each of the 16 conv layers: the VGG19 structure, a few channels wide. */
const TINY_WIDTHS = [2, 3, 3, 4, 4, 5, 4, 5, 5, 6, 5, 4, 6, 5, 4, 7];

/**
 * A tfjs model written out here (not with sr's builder): conv blocks of 2, 2, 4, 4, 4 layers with
 * Keras's names, 2x2 max pools, random kernels and biases.
 */
function referenceVgg(widths: number[], seed: number): tf.LayersModel {
  const input = tf.input({ shape: [null, null, 3] });
  let x = input;
  let k = 0;
  [2, 2, 4, 4, 4].forEach((convs, b) => {
    for (let i = 1; i <= convs; i++) {
      const conv = tf.layers.conv2d({
        filters: widths[k++],
        kernelSize: [3, 3],
        padding: 'same',
        activation: 'relu',
        name: `block${b + 1}_conv${i}`,
      });
      x = conv.apply(x) as tf.SymbolicTensor;
    }
    x = tf.layers.maxPooling2d({ poolSize: [2, 2], strides: [2, 2], name: `block${b + 1}_pool` }).apply(x) as tf.SymbolicTensor;
  });
  const model = tf.model({ inputs: input, outputs: x });
  let s = seed;
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    const fresh = weights.map((w) => tf.randomNormal(w.shape, 0, 0.5, 'float32', s++));
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
  return model;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);
}

/** Features of `layer` for the same input from two models. */
function compareFeatures(
  expected: tf.LayersModel,
  actual: tf.LayersModel,
  size = 32,
): { diff: number; shape: number[]; magnitude: number } {
  const x = tf.randomUniform([1, size, size, 3], -100, 150, 'float32', 7);
  const e = expected.predict(x) as tf.Tensor;
  const a = actual.predict(x) as tf.Tensor;
  const result = { diff: maxAbsDiff(e, a), shape: a.shape, magnitude: tf.tidy(() => tf.max(tf.abs(e)).dataSync()[0]) };
  tf.dispose([x, e, a]);
  return result;
}

let dir: string;
let reference: tf.LayersModel;
let layers: TestLayer[];

beforeAll(() => {
  dir = tempDir('sr-vgg-keras-');
  reference = referenceVgg(TINY_WIDTHS, 11);
  layers = layersOfModel(reference);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const without = (names: string[]) => layers.filter((l) => !names.includes(l.name));

test.each(['keras2', 'keras1'] as const)('a %s-style file gives the features of the tfjs model with the same weights', async (style) => {
  const file = path.join(dir, `tiny-${style}.h5`);
  await writeKerasH5(file, layers, style);

  const info = await inspectKerasWeights(file);
  expect(info.layerNames).toEqual(reference.layers.slice(1).map((l) => l.name));
  expect(info.layers.get('block1_conv1')!.weights.map((w) => w.shape)).toEqual([[3, 3, 3, 2], [2]]);
  expect(info.layers.get('block1_pool')!.weights).toEqual([]);

  for (const layer of ['vgg54', 'vgg22'] as const) {
    const loaded = await loadVggFeatures(file, layer);
    const expected = featureExtractor(reference, layer === 'vgg54' ? 'block5_conv4' : 'block2_conv2');
    const { diff, shape, magnitude } = compareFeatures(expected, loaded);
    expect(shape).toEqual(layer === 'vgg54' ? [1, 2, 2, 7] : [1, 16, 16, 4]);
    expect(magnitude).toBeGreaterThan(0.1); // ReLU outputs that are not all zero, so the comparison means something
    expect(diff).toBeLessThanOrEqual(1e-6);
    expect(loaded.trainableWeights).toHaveLength(0);
  }
});

test('the rebuilt model has the reference layer names, kinds and output shapes, and every weight equal', async () => {
  const file = path.join(dir, 'weights-equal.h5');
  await writeKerasH5(file, layers);
  const model = await loadVgg(file);
  const summary = (m: tf.LayersModel) =>
    m.layers.map((l) => [l.name.replace(/^input.*/, 'input'), l.getClassName(), JSON.stringify(l.outputShape)]);
  expect(summary(model)).toEqual(summary(reference));
  const a = model.getWeights();
  const b = reference.getWeights();
  expect(a.map((w) => w.shape)).toEqual(b.map((w) => w.shape));
  a.forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(b[i].dataSync())));
});

test('a folder holding the Keras file loads like the file; a folder with two .h5 files and no VGG19 name is refused', async () => {
  const folder = path.join(dir, 'installed');
  fs.mkdirSync(folder);
  await writeKerasH5(path.join(folder, KERAS_VGG19_NOTOP_FILE), layers);
  fs.writeFileSync(path.join(folder, 'notes.txt'), 'not weights');
  const { diff } = compareFeatures(featureExtractor(reference, 'block5_conv4'), await loadVggFeatures(folder, 'vgg54'));
  expect(diff).toBeLessThanOrEqual(1e-6);

  const two = path.join(dir, 'two');
  fs.mkdirSync(two);
  fs.writeFileSync(path.join(two, 'a.h5'), '');
  fs.writeFileSync(path.join(two, 'b.h5'), '');
  await expect(loadVggFeatures(two, 'vgg54')).rejects.toThrow(/several \.h5 files \(a\.h5, b\.h5\)/);
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty);
  await expect(loadVggFeatures(empty, 'vgg54')).rejects.toThrow(/no model\.json and no \.h5 file/);
});

/** The SrError a promise rejects with, checked to be one line. */
async function oneLineError(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SrError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

test('a file missing layers fails with one line naming each missing layer', async () => {
  const file = path.join(dir, 'missing.h5');
  await writeKerasH5(file, without(['block3_conv2', 'block5_conv4']));
  const message = await oneLineError(loadVggFeatures(file, 'vgg22'));
  expect(message).toBe(`${file}: not VGG19 weights: missing layers block3_conv2, block5_conv4`);
});

test('wrong shapes fail with one line naming the layer and the shape expected', async () => {
  const badKernel = path.join(dir, 'bad-kernel.h5');
  // block2_conv1 taking 5 channels where block1_conv2 gives 3.
  const widened = layers.map((l) =>
    l.name === 'block2_conv1' ? { ...l, weights: [{ shape: [3, 3, 5, 4], values: new Float32Array(180) }, l.weights[1]] } : l,
  );
  await writeKerasH5(badKernel, widened);
  expect(await oneLineError(loadVggFeatures(badKernel, 'vgg54'))).toBe(
    `${badKernel}: not VGG19 weights: block2_conv1 kernel has shape [3, 3, 5, 4] where [3, 3, 3, n] was expected`,
  );

  const badBias = path.join(dir, 'bad-bias.h5');
  await writeKerasH5(
    badBias,
    layers.map((l) => (l.name === 'block4_conv3' ? { ...l, weights: [l.weights[0], { shape: [3], values: new Float32Array(3) }] } : l)),
  );
  expect(await oneLineError(loadVggFeatures(badBias, 'vgg54'))).toContain('block4_conv3 bias has shape [3] where [5] was expected');

  const noBias = path.join(dir, 'no-bias.h5');
  await writeKerasH5(
    noBias,
    layers.map((l) => (l.name === 'block1_conv1' ? { ...l, weights: [l.weights[0]] } : l)),
  );
  expect(await oneLineError(loadVggFeatures(noBias, 'vgg54'))).toContain(
    'block1_conv1 has 1 weights where a kernel and a bias were expected',
  );
});

test('files that are not Keras HDF5 weights fail with one line', async () => {
  const html = path.join(dir, 'page.h5');
  fs.writeFileSync(html, '<html><body>quota exceeded</body></html>');
  expect(await oneLineError(loadVggFeatures(html, 'vgg54'))).toBe(`${html}: not an HDF5 file (no HDF5 signature)`);

  const good = path.join(dir, 'whole.h5');
  await writeKerasH5(good, layers);
  const truncated = path.join(dir, 'truncated.h5');
  fs.writeFileSync(truncated, fs.readFileSync(good).subarray(0, 4000));
  expect(await oneLineError(loadVggFeatures(truncated, 'vgg54'))).toMatch(/truncated\.h5: cannot open it as HDF5 \(truncated file/);

  const plain = path.join(dir, 'plain.h5');
  const { loadH5wasm } = await import('../../src/models/keras-h5');
  const h5 = await loadH5wasm();
  const f = new h5.File(plain, 'w');
  f.create_dataset({ name: 'x', data: new Float32Array([1, 2]), shape: [2], dtype: '<f' });
  f.close();
  expect(await oneLineError(loadVggFeatures(plain, 'vgg54'))).toBe(`${plain}: not a Keras weights file (no layer_names attribute)`);

  expect(await oneLineError(loadVggFeatures(path.join(dir, 'nowhere.h5'), 'vgg54'))).toMatch(/nowhere\.h5: no such file or folder/);
});

test('checkVgg19Weights reports the widths and parameter count, and whether they are the published ones', async () => {
  const file = path.join(dir, 'structure.h5');
  await writeKerasH5(file, layers);
  const structure = checkVgg19Weights(await inspectKerasWeights(file));
  expect(structure.widths).toEqual(TINY_WIDTHS);
  expect(structure.parameters).toBe(reference.countParams());
  expect(structure.standardWidths).toBe(false);
  // Extra layers (a classifier head) are skipped when only the conv layers are asked for.
  const head = path.join(dir, 'with-head.h5');
  await writeKerasH5(head, [
    ...layers,
    {
      name: 'fc1',
      weights: [
        { shape: [4, 2], values: new Float32Array(8) },
        { shape: [2], values: new Float32Array(2) },
      ],
    },
  ]);
  const read = await readKerasWeights(head, { layers: VGG19_CONV_LAYERS });
  expect(read.layerNames).toContain('fc1');
  expect(read.layers.has('fc1')).toBe(false);
  expect(checkVgg19Weights(read).widths).toEqual(TINY_WIDTHS);
});

describeWithShared('the shared VGG19 (tfjs folder)', ['weights', 'vgg19', 'model.json'], (modelJson) => {
  const sharedDir = path.dirname(modelJson);

  it('still gives block5_conv4 features of shape [1, 2, 2, 512] for 32x32, equal to its own layer output', async () => {
    const features = await loadVggFeatures(sharedDir, 'vgg54');
    const full = await loadLayersModelFromDir(sharedDir);
    const direct = tf.model({ inputs: full.inputs, outputs: full.getLayer('block5_conv4').output as tf.SymbolicTensor });
    const { diff, shape, magnitude } = compareFeatures(direct, features);
    expect(shape).toEqual([1, 2, 2, 512]);
    expect(magnitude).toBeGreaterThan(0);
    expect(diff).toBe(0);
  });

  it("has the layers, kinds and shapes of sr's VGG19 builder, and converted to a Keras file gives the same features", async () => {
    const shared = await loadVgg(sharedDir);
    const built = buildVgg19([64, 64, 128, 128, 256, 256, 256, 256, ...Array<number>(8).fill(512)]);
    const summary = (m: tf.LayersModel) => m.layers.map((l) => [l.name, l.getClassName(), JSON.stringify(l.outputShape)]);
    expect(summary(built)).toEqual(summary(shared));
    expect(built.countParams()).toBe(20_024_384);
    built.dispose();

    const file = path.join(dir, KERAS_VGG19_NOTOP_FILE);
    await writeKerasH5(file, layersOfModel(shared));
    const structure = checkVgg19Weights(await inspectKerasWeights(file));
    expect(structure).toMatchObject({ parameters: 20_024_384, standardWidths: true });
    const fromKeras = await loadVggFeatures(file, 'vgg54');
    const { diff, shape } = compareFeatures(featureExtractor(shared, 'block5_conv4'), fromKeras);
    expect(shape).toEqual([1, 2, 2, 512]);
    expect(diff).toBeLessThanOrEqual(1e-6);
    fs.rmSync(file);
  });
});
