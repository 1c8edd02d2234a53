import * as tf from '@tensorflow/tfjs';
import { axisPlan, cubic, imresize, modcrop, outputLength, resizeAxis } from '../../src/image/resize';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

/** Resizes a 1-D signal along the width axis. */
function resize1d(signal: number[], scale: number, kernel: 'bicubic' | 'bilinear' | 'nearest' = 'bicubic'): number[] {
  return tf.tidy(() => Array.from(imresize(tf.tensor3d(signal, [1, signal.length, 1]), scale, { kernel, outHeight: 1 }).dataSync()));
}

describe('cubic kernel (a = -0.5)', () => {
  it('has the textbook values', () => {
    expect(cubic(0)).toBe(1);
    expect(cubic(1)).toBe(0);
    expect(cubic(2)).toBe(0);
    expect(cubic(0.5)).toBeCloseTo(0.5625, 12);
    expect(cubic(-1.5)).toBeCloseTo(-0.0625, 12);
    expect(cubic(2.5)).toBe(0);
  });
});

describe('MATLAB imresize contributions', () => {
  it('upscaling x2: first output sample mixes the mirrored edge as MATLAB does', () => {
    // u = 0.75; taps at 1-based -1, 0, 1, 2 with cubic(1.75), cubic(0.75), cubic(0.25), cubic(1.25);
    // -1 and 0 mirror to samples 2 and 1: 1.09375 a - 0.09375 b.
    const plan = axisPlan(4, 2, 'bicubic');
    expect(plan.outLength).toBe(8);
    const [first] = resize1d([10, 20, 30, 40], 2);
    expect(first).toBeCloseTo(1.09375 * 10 - 0.09375 * 20, 4);
  });

  it('downscaling x1/2 stretches the kernel (antialiasing) over eight taps', () => {
    // u = 1.5; weights 0.5 * cubic(0.5 d) for d = 3.5 .. -3.5, on samples 3 2 1 1 2 3 4 4 (1-based).
    const w = [-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875];
    const samples = [30, 20, 10, 10, 20, 30, 40, 40];
    const expected = w.reduce((s, wi, i) => s + wi * samples[i], 0);
    const out = resize1d([10, 20, 30, 40], 0.5);
    expect(out).toHaveLength(2);
    expect(out[0]).toBeCloseTo(expected, 4);
    expect(out[0]).toBeCloseTo(14.609375, 4);
    // The signal is symmetric about its centre when reversed, so the last sample mirrors the first.
    expect(out[1]).toBeCloseTo(50 - expected, 4);
  });

  it('weights of every output sample sum to one', () => {
    for (const [n, s] of [
      [7, 3],
      [12, 1 / 3],
      [9, 0.5],
      [5, 4],
    ]) {
      const plan = axisPlan(n, s, 'bicubic');
      for (let x = 0; x < plan.outLength; x++) {
        let sum = 0;
        for (let p = 0; p < plan.taps; p++) sum += plan.weights[x * plan.taps + p];
        expect(sum).toBeCloseTo(1, 5);
      }
    }
  });

  it('output length is ceil(in * scale)', () => {
    expect(outputLength(10, 1 / 3)).toBe(4);
    expect(outputLength(9, 1 / 3)).toBe(3);
    expect(outputLength(30, 0.1)).toBe(3);
    expect(outputLength(5, 4)).toBe(20);
  });

  it('keeps a constant image constant and a linear ramp linear in the interior', () => {
    const flat = resize1d([7, 7, 7, 7, 7], 3);
    flat.forEach((v) => expect(v).toBeCloseTo(7, 5));
    const ramp = resize1d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 2);
    // Away from the mirrored borders cubic convolution reproduces linear functions exactly:
    // output x (1-based) sits at input position x/2 + 0.25, i.e. value x/2 - 0.75.
    for (let x = 5; x <= 16; x++) expect(ramp[x - 1]).toBeCloseTo(x / 2 - 0.75, 4);
  });

  it('bilinear and nearest match their definitions', () => {
    // Bilinear x2 at u = 0.75 (1-based): 0.25 from mirrored sample 1 (index 0 -> 1) and 0.75 from sample 1.
    expect(resize1d([10, 20, 30], 2, 'bilinear')[1]).toBeCloseTo(0.75 * 10 + 0.25 * 20, 4);
    expect(resize1d([10, 20, 30], 2, 'nearest')).toEqual([10, 10, 20, 20, 30, 30]);
    expect(resize1d([10, 20, 30, 40, 50, 60], 1 / 3, 'nearest')).toEqual([20, 50]);
  });

  it('equals the direct 2-D weighted sum of the two axis plans', () => {
    const [h, w, scale] = [5, 6, 3];
    const x = tf.randomUniform([h, w, 1], 0, 1, 'float32', 7) as tf.Tensor3D;
    const pixels = x.dataSync();
    const ph = axisPlan(h, scale, 'bicubic');
    const pw = axisPlan(w, scale, 'bicubic');
    const expected: number[] = [];
    for (let i = 0; i < ph.outLength; i++) {
      for (let j = 0; j < pw.outLength; j++) {
        let v = 0;
        for (let p = 0; p < ph.taps; p++) {
          for (let q = 0; q < pw.taps; q++) {
            const wij = ph.weights[i * ph.taps + p] * pw.weights[j * pw.taps + q];
            v += wij * pixels[ph.indices[i * ph.taps + p] * w + pw.indices[j * pw.taps + q]];
          }
        }
        expected.push(v);
      }
    }
    const y = imresize(x, scale);
    expect(y.shape).toEqual([15, 18, 1]);
    const got = y.dataSync();
    expected.forEach((v, k) => expect(got[k]).toBeCloseTo(v, 4));
    tf.dispose([x, y]);
  });

  it('equals the direct weighted sum along axes many blocks long, upscaling and downscaling, on every axis', () => {
    // 300 samples: several blocks of output rows either way, mirrored edges at both ends.
    for (const [shape, axis] of [
      [[300, 3, 2], 0],
      [[3, 300, 2], 1],
      [[2, 3, 300, 1], 2],
    ] as [number[], number][]) {
      for (const scale of [3, 1 / 4]) {
        const x = tf.randomUniform(shape, 0, 1, 'float32', 11);
        const plan = axisPlan(300, scale, 'bicubic');
        const pixels = x.dataSync();
        const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
        const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
        const expected = new Float64Array(outer * plan.outLength * inner);
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < plan.outLength; i++) {
            for (let c = 0; c < inner; c++) {
              let v = 0;
              for (let p = 0; p < plan.taps; p++)
                v += plan.weights[i * plan.taps + p] * pixels[(o * 300 + plan.indices[i * plan.taps + p]) * inner + c];
              expected[(o * plan.outLength + i) * inner + c] = v;
            }
          }
        }
        const y = resizeAxis(x, axis, plan);
        expect(y.shape).toEqual(shape.map((n, i) => (i === axis ? plan.outLength : n)));
        const got = y.dataSync();
        let worst = 0;
        expected.forEach((v, k) => (worst = Math.max(worst, Math.abs(got[k] - v))));
        expect(worst).toBeLessThan(1e-5);
        tf.dispose([x, y]);
      }
    }
  });

  it('works on batches and does not leak tensors', () => {
    const before = tf.memory().numTensors;
    const x = tf.ones([2, 8, 8, 3]) as tf.Tensor4D;
    const y = imresize(x, 0.25);
    expect(y.shape).toEqual([2, 2, 2, 3]);
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('modcrop', () => {
  it('crops height and width to multiples of the scale from the bottom-right', () => {
    const x = tf.tensor3d(
      Array.from({ length: 7 * 5 }, (_, i) => i),
      [7, 5, 1],
    );
    const y = modcrop(x, 3);
    expect(y.shape).toEqual([6, 3, 1]);
    expect(Array.from(y.dataSync()).slice(0, 4)).toEqual([0, 1, 2, 5]);
    tf.dispose([x, y]);
  });
});
