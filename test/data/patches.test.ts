import * as tf from '@tensorflow/tfjs';
import { copyPatch, dihedralSource, PatchSampler } from '../../src/data/patches';
import { makePair, type Plane } from '../../src/data/training-set';
import { imresize } from '../../src/image/resize';
import { imageToTensor } from '../../src/image/tensor';
import { Rng } from '../../src/core/rng';
import { useTestBackend } from '../helpers/env';
import { patternImage } from '../helpers/images';

beforeAll(useTestBackend);

describe('dihedral transforms', () => {
  it('are the 8 distinct symmetries of the square', () => {
    const n = 3;
    const layouts = new Set<string>();
    for (let t = 0; t < 8; t++) {
      const cells: string[] = [];
      for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) cells.push(dihedralSource(t, y, x, n).join(','));
      layouts.add(cells.join(' '));
    }
    expect(layouts.size).toBe(8);
    expect(dihedralSource(0, 1, 2, 3)).toEqual([1, 2]);
  });

  it('copyPatch applies the same transform to every channel', () => {
    const src: Plane = { data: Float32Array.from({ length: 4 * 4 * 2 }, (_, i) => i), height: 4, width: 4, channels: 2 };
    const out = new Float32Array(2 * 2 * 2);
    copyPatch(src, 1, 1, 2, 1, out, 0); // flip columns of the window at (1,1)
    // window pixels (1,1)=[10,11] (1,2)=[12,13]; flipped row 0 -> [12,13,10,11]
    expect(Array.from(out.slice(0, 4))).toEqual([12, 13, 10, 11]);
  });
});

describe('training pairs and patches', () => {
  const image = patternImage(50, 43, 3);

  it('SRCNN pairs: Y in [0,1], input is the bicubic upscale of the 8-bit LR, same size as the modcropped HR', () => {
    const color = imageToTensor(image);
    const pair = makePair('p', color, { scale: 3, space: 'y', inputIsUpsampled: true });
    expect([pair.target.height, pair.target.width, pair.target.channels]).toEqual([42, 48, 1]);
    expect([pair.input.height, pair.input.width, pair.input.channels]).toEqual([42, 48, 1]);
    for (const v of [...pair.input.data, ...pair.target.data]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    // Input and target are aligned: no shift of the target matches the input better than none.
    const mse = (dy: number, dx: number) => {
      let s = 0;
      let n = 0;
      for (let y = 3; y < 39; y++)
        for (let x = 3; x < 45; x++) {
          s += (pair.input.data[y * 48 + x] - pair.target.data[(y + dy) * 48 + x + dx]) ** 2;
          n++;
        }
      return s / n;
    };
    for (const [dy, dx] of [
      [0, 1],
      [0, -1],
      [1, 0],
      [-1, 0],
      [1, 1],
      [0, 2],
    ])
      expect(mse(0, 0)).toBeLessThan(mse(dy, dx));
    color.dispose();
  });

  it('SRResNet pairs: RGB, LR input one scale smaller', () => {
    const color = imageToTensor(image);
    const pair = makePair('p', color, { scale: 4, space: 'rgb', inputIsUpsampled: false });
    expect([pair.target.height, pair.target.width, pair.target.channels]).toEqual([40, 48, 3]);
    expect([pair.input.height, pair.input.width, pair.input.channels]).toEqual([10, 12, 3]);
    // The LR input is the 8-bit MATLAB bicubic downscale of the target.
    const expected = tf.tidy(() =>
      imresize(tf.tensor3d(pair.target.data, [40, 48, 3]), 0.25)
        .mul(255)
        .round()
        .div(255)
        .dataSync(),
    );
    pair.input.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    color.dispose();
  });

  it('batches have the right shapes, LR/HR patches stay aligned under every transform, and a seed reproduces them', () => {
    const color = imageToTensor(image);
    const pair = makePair('p', color, { scale: 2, space: 'rgb', inputIsUpsampled: false });
    color.dispose();
    const sampler = new PatchSampler([pair], { inputSize: 6, scale: 2, batchSize: 8, augment: true });
    const batch = sampler.next(new Rng(5));
    expect(batch.inputShape).toEqual([8, 6, 6, 3]);
    expect(batch.targetShape).toEqual([8, 12, 12, 3]);
    // Downscaling each HR patch by 2x2 averaging approximates its LR patch; a misaligned or
    // differently transformed pair would not.
    for (let b = 0; b < 8; b++) {
      let err = 0;
      for (let y = 0; y < 6; y++)
        for (let x = 0; x < 6; x++)
          for (let c = 0; c < 3; c++) {
            let avg = 0;
            for (const [dy, dx] of [
              [0, 0],
              [0, 1],
              [1, 0],
              [1, 1],
            ])
              avg += batch.target[((b * 12 + 2 * y + dy) * 12 + 2 * x + dx) * 3 + c] / 4;
            err += Math.abs(avg - batch.input[((b * 6 + y) * 6 + x) * 3 + c]);
          }
      expect(err / (6 * 6 * 3)).toBeLessThan(0.03);
    }
    const again = sampler.next(new Rng(5));
    expect(Array.from(again.input)).toEqual(Array.from(batch.input));
    const other = sampler.next(new Rng(6));
    expect(Array.from(other.input)).not.toEqual(Array.from(batch.input));
  });
});
