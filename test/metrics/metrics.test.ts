import * as tf from '@tensorflow/tfjs';
import { gaussianWindow, meanScore, psnrBatch, score, ssimBatch } from '../../src/metrics';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

const full = (h: number, w: number, c: number, v: number) => tf.fill([1, h, w, c], v) as tf.Tensor4D;

describe('PSNR', () => {
  it('is 10 log10(255^2 / MSE) and infinite for equal images', () => {
    const a = full(8, 8, 1, 100);
    const b = full(8, 8, 1, 101); // MSE = 1
    const c = full(8, 8, 1, 110); // MSE = 100
    expect(psnrBatch(a, b).dataSync()[0]).toBeCloseTo(48.1308, 3);
    expect(psnrBatch(a, c).dataSync()[0]).toBeCloseTo(28.1308, 3);
    expect(psnrBatch(a, a).dataSync()[0]).toBe(Infinity);
    tf.dispose([a, b, c]);
  });
});

describe('SSIM', () => {
  it('uses a normalised 11x11 Gaussian window with sigma 1.5', () => {
    const w = gaussianWindow();
    expect(w).toHaveLength(121);
    expect(w.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    // Centre over its horizontal neighbour: exp(1 / (2 * 1.5^2)).
    expect(w[60] / w[61]).toBeCloseTo(Math.exp(1 / 4.5), 6);
  });

  it('is 1 for identical images and matches the closed form for flat images', () => {
    const a = full(16, 16, 1, 100);
    const b = full(16, 16, 1, 110);
    expect(ssimBatch(a, a).dataSync()[0]).toBeCloseTo(1, 6);
    // No variance: SSIM reduces to the luminance term (2 mu1 mu2 + C1) / (mu1^2 + mu2^2 + C1).
    const c1 = (0.01 * 255) ** 2;
    expect(ssimBatch(a, b).dataSync()[0]).toBeCloseTo((2 * 100 * 110 + c1) / (100 ** 2 + 110 ** 2 + c1), 5);
    tf.dispose([a, b]);
  });

  it('matches a direct float64 evaluation of the definition, channel by channel, image by image', () => {
    const [n, h, w, c] = [2, 16, 14, 2];
    const a = tf.randomUniform([n, h, w, c], 0, 255, 'float32', 1) as tf.Tensor4D;
    const b = tf.tidy(() => a.add(tf.randomNormal([n, h, w, c], 0, 30, 'float32', 2))) as tf.Tensor4D;
    const A = a.arraySync();
    const B = b.arraySync();
    const win = gaussianWindow();
    const [c1, c2] = [(0.01 * 255) ** 2, (0.03 * 255) ** 2];
    const expected = A.map((imgA, i) => {
      let total = 0;
      let count = 0;
      for (let ch = 0; ch < c; ch++) {
        for (let y = 0; y + 11 <= h; y++) {
          for (let x = 0; x + 11 <= w; x++) {
            let [ma, mb, saa, sbb, sab] = [0, 0, 0, 0, 0];
            for (let dy = 0; dy < 11; dy++) {
              for (let dx = 0; dx < 11; dx++) {
                const g = win[dy * 11 + dx];
                const va = imgA[y + dy][x + dx][ch];
                const vb = B[i][y + dy][x + dx][ch];
                ma += g * va;
                mb += g * vb;
                saa += g * va * va;
                sbb += g * vb * vb;
                sab += g * va * vb;
              }
            }
            const [va, vb, cov] = [saa - ma * ma, sbb - mb * mb, sab - ma * mb];
            total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count++;
          }
        }
      }
      return total / count;
    });
    const got = ssimBatch(a, b).dataSync();
    expect(got).toHaveLength(n);
    expected.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    expect(expected[0]).toBeLessThan(0.99);
    tf.dispose([a, b]);
  });
});

describe('score (benchmark protocol)', () => {
  it('crops the border before scoring', async () => {
    // Differences only in the outer 2 pixels vanish with border 2.
    const hr = tf.fill([20, 20, 1], 0.5) as tf.Tensor3D;
    const sr = tf.tidy(() =>
      tf.pad(
        tf.fill([16, 16, 1], 0.5),
        [
          [2, 2],
          [2, 2],
          [0, 0],
        ],
        0.9,
      ),
    ) as tf.Tensor3D;
    expect((await score(sr, hr, { border: 2 })).psnr).toBe(Infinity);
    expect((await score(sr, hr, { border: 1 })).psnr).toBeLessThan(30);
    tf.dispose([hr, sr]);
  });

  it('scores Y (rounded to 8 bits) of RGB, and gray values of a gray image as they are', async () => {
    const rgb = tf.randomUniform([16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor3D;
    const shifted = tf.tidy(() => tf.clipByValue(rgb.add(3 / 255), 0, 1)) as tf.Tensor3D;
    const y = await score(shifted, rgb, { border: 0, channel: 'y' });
    const all = await score(shifted, rgb, { border: 0, channel: 'rgb' });
    expect(y.psnr).not.toBeCloseTo(all.psnr, 1);
    // A shift of 3 levels in R, G and B moves Y by about 3 * 219/255 = 2.58 levels, which rounds to 2 or 3.
    expect(y.psnr).toBeGreaterThan(10 * Math.log10(255 ** 2 / 9) - 0.5);
    expect(y.psnr).toBeLessThan(10 * Math.log10(255 ** 2 / 4) + 0.5);
    const gray = tf.fill([16, 16, 1], 100 / 255) as tf.Tensor3D;
    const gray2 = tf.fill([16, 16, 1], 101 / 255) as tf.Tensor3D;
    expect((await score(gray2, gray, { border: 0 })).psnr).toBeCloseTo(48.1308, 2);
    tf.dispose([rgb, shifted, gray, gray2]);
  });

  it('averages scores', () => {
    expect(
      meanScore([
        { psnr: 30, ssim: 0.8 },
        { psnr: 32, ssim: 0.9 },
      ]),
    ).toEqual({ psnr: 31, ssim: expect.closeTo(0.85, 10) });
  });
});
