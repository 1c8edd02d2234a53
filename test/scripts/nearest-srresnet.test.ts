/**
 * scripts/nearest-srresnet.ts: a sub-pixel SRResNet checkpoint becomes one with nearest + conv
 * upsamplers that `--init` accepts, every shared layer's weights kept and each upsampler's kernel
 * the mean of its sub-pixel kernels; and one-line errors for what it cannot convert.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/checkpoint';
import { SrError } from '../../src/core/errors';
import { UpsampleNearest } from '../../src/models/layers';
import { convertToNearest } from '../../scripts/nearest-srresnet';
import { saveTestCheckpoint } from '../helpers/checkpoints';
import { tempDir, useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

let dir: string;
beforeEach(() => {
  dir = tempDir('sr-nearest-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

it('repeats every pixel over an f x f cell', () => {
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const y = new UpsampleNearest({ factor: 2 }).apply(x) as tf.Tensor;
  expect(Array.from(y.dataSync())).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  tf.dispose([x, y]);
});

it('keeps every shared layer and averages each upsampler over its sub-pixel positions', async () => {
  const source = path.join(dir, 'source');
  // 'he': every sub-pixel position its own kernel, so the mean is not any one of them.
  const model = await saveTestCheckpoint(source, {
    architecture: 'srresnet',
    options: { blocks: 1, width: 4, tail_kernel: 3, global_skip: 'bilinear', upsample_init: 'he' },
    scale: 4,
    seed: 5,
  });
  const target = path.join(dir, 'nearest');
  await convertToNearest(source, target);
  const { meta, networks } = await loadCheckpoint(target);
  const converted = networks.model;
  expect(meta).toMatchObject({
    architecture: 'srresnet',
    scale: 4,
    options: { upsample: 'nearest', width: 4 },
    converted: { from: source },
  });
  expect(meta.validation).toBeUndefined();

  for (const layer of converted.layers.filter((l) => l.weights.length > 0)) {
    const before = model.getLayer(layer.name).getWeights();
    const after = layer.getWeights();
    if (!layer.name.startsWith('up') || !layer.name.endsWith('_conv')) {
      after.forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(before[i].dataSync())));
      continue;
    }
    // Kernel [3, 3, 4, 16] -> [3, 3, 4, 4]: output c is the mean of outputs p * 4 + c, p < 4.
    const [k, bias] = [before[0].arraySync() as number[][][][], before[1].dataSync()];
    expect(after[0].shape).toEqual([3, 3, 4, 4]);
    const got = after[0].arraySync() as number[][][][];
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(got[1][2][3][1]).toBeCloseTo(mean([1, 5, 9, 13].map((o) => k[1][2][3][o])), 6);
    expect(got[0][0][0][3]).toBeCloseTo(mean([3, 7, 11, 15].map((o) => k[0][0][0][o])), 6);
    expect(after[1].dataSync()[2]).toBeCloseTo(mean([2, 6, 10, 14].map((o) => bias[o])), 6);
    expect(got[1][2][3][1]).not.toBeCloseTo(k[1][2][3][1], 6);
  }

  const lr = tf.randomUniform([1, 6, 5, 3], 0, 1, 'float32', 3);
  const sr = converted.predict(lr) as tf.Tensor;
  expect(sr.shape).toEqual([1, 24, 20, 3]);
  tf.dispose([lr, sr]);
  model.dispose();
  converted.dispose();
});

it('refuses what it cannot convert with a one-line error', async () => {
  const srcnn = path.join(dir, 'srcnn');
  (await saveTestCheckpoint(srcnn, { architecture: 'srcnn', options: { kernels: [3, 1, 3], widths: [4, 2] }, scale: 2 })).dispose();
  await expect(convertToNearest(srcnn, path.join(dir, 'out'))).rejects.toThrow(new SrError(`${srcnn} holds srcnn, not srresnet`));

  const nearest = path.join(dir, 'nearest');
  (
    await saveTestCheckpoint(nearest, { architecture: 'srresnet', options: { blocks: 1, width: 4, upsample: 'nearest' }, scale: 2 })
  ).dispose();
  await expect(convertToNearest(nearest, path.join(dir, 'out'))).rejects.toThrow(/already upsamples with nearest \+ conv/);
  await expect(convertToNearest(nearest, nearest)).rejects.toThrow(/would overwrite/);
  expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
});
