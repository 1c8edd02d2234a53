import * as tf from '@tensorflow/tfjs';
import { luma, rgbToYcbcr, ycbcrToRgb } from '../../src/image/color';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

const rgb255 = (r: number, g: number, b: number) => tf.tensor2d([[r / 255, g / 255, b / 255]]);

describe('BT.601 YCbCr (MATLAB rgb2ycbcr constants)', () => {
  it('maps black, white and primaries to the studio-swing values', () => {
    const cases: [number[], number[]][] = [
      [
        [0, 0, 0],
        [16, 128, 128],
      ],
      [
        [255, 255, 255],
        [235, 128, 128],
      ],
      [
        [255, 0, 0],
        [16 + 65.481, 128 - 37.797, 128 + 112],
      ],
      [
        [0, 255, 0],
        [16 + 128.553, 128 - 74.203, 128 - 93.786],
      ],
      [
        [0, 0, 255],
        [16 + 24.966, 128 + 112, 128 - 18.214],
      ],
    ];
    for (const [rgb, ycc] of cases) {
      const out = tf.tidy(() =>
        rgbToYcbcr(rgb255(rgb[0], rgb[1], rgb[2]))
          .mul(255)
          .dataSync(),
      );
      ycc.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 3));
    }
  });

  it('Y alone equals the first channel of the full conversion and leaves gray alone', () => {
    const x = tf.randomUniform([4, 5, 3], 0, 1, 'float32', 3);
    const diff = tf.tidy(
      () =>
        tf
          .max(
            tf.abs(
              luma(x)
                .squeeze([2])
                .sub(rgbToYcbcr(x).slice([0, 0, 0], [4, 5, 1]).squeeze([2])),
            ),
          )
          .dataSync()[0],
    );
    expect(diff).toBeLessThan(1e-6);
    const gray = tf.randomUniform([4, 5, 1], 0, 1, 'float32', 4);
    const same = tf.tidy(() => tf.max(tf.abs(luma(gray).sub(gray))).dataSync()[0]);
    expect(same).toBe(0);
    tf.dispose([x, gray]);
  });

  it('round-trips RGB -> YCbCr -> RGB', () => {
    const x = tf.randomUniform([3, 7, 3], 0, 1, 'float32', 5);
    const err = tf.tidy(() => tf.max(tf.abs(ycbcrToRgb(rgbToYcbcr(x)).sub(x))).dataSync()[0]);
    expect(err).toBeLessThan(1e-5);
    x.dispose();
  });
});
