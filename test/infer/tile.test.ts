import * as tf from '@tensorflow/tfjs';
import { interpolationUpscaler, modelUpscaler } from '../../src/infer';
import { autoTileBudget, autoTileSize, tileStarts, tiledUpscaler } from '../../src/infer/tile';
import { describeCheckpoint } from '../../src/infer';
import type { Upscaler } from '../../src/infer/upscaler';
import { getArchitecture } from '../../src/models';
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
  const model = getArchitecture('srcnn').build({ kernels: [9, 5, 5], widths: [8, 4], padding: 'valid' }, 3, 4);
  const upscaler = modelUpscaler(model, { name: 't', scale: 3, inputSpace: 'y', inputIsUpsampled: true, shrink: 8 });
  const lr = tf.randomUniform([30, 41, 3], 0, 1, 'float32', 12) as tf.Tensor3D;
  expect(await maxLevelDifference(upscaler, lr, 12, 8)).toBeLessThanOrEqual(1);
  lr.dispose();
  upscaler.dispose();
});

test('onTile is called once per tile, in order, with the tile count', async () => {
  const lr = tf.randomUniform([37, 50, 3], 0, 1, 'float32', 13) as tf.Tensor3D;
  const calls: [number, number][] = [];
  const out = await tiledUpscaler(interpolationUpscaler('bicubic', 2), {
    tile: 16,
    pad: 4,
    onTile: (done, total) => calls.push([done, total]),
  }).upscale(lr);
  // Rows start at 0, 16, 21 and columns at 0, 16, 32, 34: 3 x 4 tiles.
  expect(calls).toEqual(Array.from({ length: 12 }, (_, i) => [i + 1, 12]));
  calls.length = 0;
  const whole = await tiledUpscaler(interpolationUpscaler('bicubic', 2), {
    tile: 64,
    pad: 4,
    onTile: (done, total) => calls.push([done, total]),
  }).upscale(lr);
  expect(calls).toEqual([]);
  tf.dispose([lr, out, whole]);
});

describe('--tile auto: a tile size from the memory budget', () => {
  const MiB = 1024 * 1024;
  // A full-size SRGAN x4 generator: 64 channels at output size, two maps alive, 4 bytes each.
  const srganBytes = 2 * 4 * 64 * 16;

  test('a picture that fits the budget runs whole; a larger one in the largest tile whose window fits', () => {
    expect(autoTileSize(128, 128, srganBytes, 16, 512 * MiB)).toBe(0);
    // 2000 x 2000 LR: a 192 tile's 224 x 224 window takes 392 MiB; a 256 tile's 288 x 288, 648 MiB.
    expect(autoTileSize(2000, 2000, srganBytes, 16, 512 * MiB)).toBe(192);
    expect(autoTileSize(2000, 2000, srganBytes, 16, 128 * MiB)).toBe(96);
    // A thin band (a picture's last rows) still tiles: the window is as tall as the band.
    expect(autoTileSize(51, 2000, srganBytes, 16, 512 * MiB)).toBe(512);
    expect(autoTileSize(2000, 2000, srganBytes, 16, 1)).toBe(32);
  });

  test('the budget is a quarter of free memory, within 128-512 MiB', () => {
    expect(autoTileBudget(16 * 1024 * MiB)).toBe(512 * MiB);
    expect(autoTileBudget(1024 * MiB)).toBe(256 * MiB);
    expect(autoTileBudget(100 * MiB)).toBe(128 * MiB);
  });

  test('checkpoint descriptions carry the widest feature map for the estimate', () => {
    const srresnet = describeCheckpoint(
      'x',
      { architecture: 'srresnet', options: { blocks: 2, width: 48 }, scale: 4, inputSpace: 'rgb', inputIsUpsampled: false } as never,
      'x',
    );
    const srcnn = describeCheckpoint(
      'x',
      { architecture: 'srcnn', options: { widths: [64, 32] }, scale: 3, inputSpace: 'y', inputIsUpsampled: true } as never,
      'x',
    );
    expect([srresnet.featureChannels, srcnn.featureChannels]).toEqual([48, 64]);
  });

  test("'auto' tiles when the image exceeds the budget, agreeing with the whole image; 0 never tiles", async () => {
    const model = getArchitecture('srcnn').build({ kernels: [9, 5, 5], widths: [8, 4], padding: 'same' }, 2, 5);
    const upscaler = modelUpscaler(model, { name: 't', scale: 2, inputSpace: 'y', inputIsUpsampled: true, shrink: 0, featureChannels: 8 });
    expect(upscaler.bytesPerPixel).toBe(2 * 4 * 8 * 4);
    const lr = tf.randomUniform([70, 90, 3], 0, 1, 'float32', 14) as tf.Tensor3D;
    const whole = await upscaler.upscale(lr);
    const tiles: number[] = [];
    // 70 x 90 x 256 bytes is 1.6 MB: a 0.5 MB budget makes 'auto' tile.
    const auto = await tiledUpscaler(upscaler, {
      tile: 'auto',
      pad: 16,
      budgetBytes: 512 * 1024,
      onTile: (done) => tiles.push(done),
    }).upscale(lr);
    expect(tiles.length).toBeGreaterThan(1);
    const levels = tf.tidy(() => tf.max(tf.abs(tf.round(whole.mul(255)).sub(tf.round(auto.mul(255))))).dataSync()[0]);
    expect(levels).toBeLessThanOrEqual(1);
    tiles.length = 0;
    const zero = await tiledUpscaler(upscaler, { tile: 0, pad: 16, budgetBytes: 1, onTile: (done) => tiles.push(done) }).upscale(lr);
    expect(tiles).toEqual([]);
    tf.dispose([lr, whole, auto, zero]);
    upscaler.dispose();
  });
});
