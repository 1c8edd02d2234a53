import * as tf from '@tensorflow/tfjs';
import { interpolationUpscaler, modelUpscaler } from '../../src/infer';
import { tileStarts, tiledUpscaler } from '../../src/infer/tile';
import type { Upscaler } from '../../src/infer/upscaler';
import { getModel } from '../../src/models';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

test('tile windows cover the length with one fixed size', () => {
  expect(tileStarts(10, 4)).toEqual([0, 4, 6]);
  expect(tileStarts(8, 4)).toEqual([0, 4]);
  expect(tileStarts(3, 4)).toEqual([0]);
});

async function maxLevelDifference(inner: Upscaler, lr: tf.Tensor3D, tile: number, pad: number): Promise<number> {
  const whole = await inner.upscale(lr);
  const tiles: number[] = [];
  const tiled = await tiledUpscaler(inner, { tile, pad, onTile: (done) => tiles.push(done) }).upscale(lr);
  expect(tiled.shape).toEqual(whole.shape);
  expect(tiles.length).toBeGreaterThan(4);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.round(whole.mul(255)).sub(tf.round(tiled.mul(255))))).dataSync()[0]);
  tf.dispose([whole, tiled]);
  return diff;
}

test('tiled bicubic equals the whole-image result within one gray level (no seams)', async () => {
  const lr = tf.randomUniform([37, 50, 3], 0, 1, 'float32', 11) as tf.Tensor3D;
  expect(await maxLevelDifference(interpolationUpscaler('bicubic', 3), lr, 16, 4)).toBeLessThanOrEqual(1);
  lr.dispose();
});

test('tiled SRCNN (valid padding, Y channel) equals the whole-image result within one gray level', async () => {
  const model = getModel('srcnn').build({ kernels: [9, 5, 5], widths: [8, 4], padding: 'valid' }, 3, 4);
  const upscaler = modelUpscaler(model, { name: 't', scale: 3, inputSpace: 'y', inputIsUpsampled: true, shrink: 8 });
  const lr = tf.randomUniform([30, 41, 3], 0, 1, 'float32', 12) as tf.Tensor3D;
  expect(await maxLevelDifference(upscaler, lr, 12, 8)).toBeLessThanOrEqual(1);
  lr.dispose();
  upscaler.dispose();
});

test('onTile is called once per tile, in order, with the tile count', async () => {
  const lr = tf.randomUniform([37, 50, 3], 0, 1, 'float32', 13) as tf.Tensor3D;
  const calls: [number, number][] = [];
  const out = await tiledUpscaler(interpolationUpscaler('bicubic', 2), { tile: 16, pad: 4, onTile: (done, total) => calls.push([done, total]) }).upscale(lr);
  // Rows start at 0, 16, 21 and columns at 0, 16, 32, 34: 3 x 4 tiles.
  expect(calls).toEqual(Array.from({ length: 12 }, (_, i) => [i + 1, 12]));
  calls.length = 0;
  const whole = await tiledUpscaler(interpolationUpscaler('bicubic', 2), { tile: 64, pad: 4, onTile: (done, total) => calls.push([done, total]) }).upscale(lr);
  expect(calls).toEqual([]);
  tf.dispose([lr, out, whole]);
});
