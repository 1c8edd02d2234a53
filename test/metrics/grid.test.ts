import * as tf from '@tensorflow/tfjs';
import { phaseGrid } from '../../src/metrics/grid';
import { Rng } from '../../src/core/rng';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

/** A smooth random picture on 0..255, [h, w, 1]. */
function picture(rng: Rng, h: number, w: number): number[] {
  const [a, b, c] = [rng.next() * 0.2, rng.next() * 0.2, rng.next() * 6];
  return Array.from({ length: h * w }, (_, i) => 128 + 80 * Math.sin(a * Math.floor(i / w) + b * (i % w) + c));
}

/** phaseGrid of two [h, w, 1] pictures, checking it frees everything it made. */
function gridOf(sr: number[], hr: number[], h: number, w: number, period: number): ReturnType<typeof phaseGrid> {
  const [a, b] = [tf.tensor3d(sr, [h, w, 1]), tf.tensor3d(hr, [h, w, 1])];
  const before = tf.memory().numTensors;
  try {
    return phaseGrid(a, b, period);
  } finally {
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  }
}

describe('phaseGrid', () => {
  const [h, w] = [64, 72];
  const rng = new Rng(5);
  const hr = picture(rng, h, w);
  const grid = [2, -1, 0.5, -1.5, 0, 1, -3, 1, 0.5, 0, 0, 0.5, -0.5, 1, 0, 0];
  const mean = grid.reduce((x, y) => x + y) / grid.length;

  it('finds a fixed 4x4 pattern laid over noise, and its amplitude', () => {
    const sr = hr.map((v, i) => v + 2 * (rng.next() - 0.5) + grid[(Math.floor(i / w) % 4) * 4 + ((i % w) % 4)]);
    const r = gridOf(sr, hr, h, w, 4);
    expect(r.amplitude).toBeCloseTo(3 + mean, 0);
    r.phases.forEach((p, i) => expect(Math.abs(p - (grid[i] - mean))).toBeLessThan(0.2));
  });

  it('is small for noise and an overall offset alone, and cuts sizes to the period', () => {
    const sr = hr.map((v) => v + 5 + 2 * (rng.next() - 0.5)).slice(0, h * w);
    const r = gridOf(sr, hr, h, w, 5);
    expect(r.phases).toHaveLength(25);
    expect(r.amplitude).toBeLessThan(0.3);
  });

  it('refuses images of different sizes', () => {
    const [a, b] = [tf.zeros([8, 8, 1]) as tf.Tensor3D, tf.zeros([8, 12, 1]) as tf.Tensor3D];
    expect(() => phaseGrid(a, b, 4)).toThrow('sizes differ');
    tf.dispose([a, b]);
  });
});
