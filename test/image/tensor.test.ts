import * as tf from '@tensorflow/tfjs';
import { quantize, tensorsToImage } from '../../src/image/tensor';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

// Values on and around every rounding boundary, outside [0, 1], and NaN.
function awkwardValues(max: number, count: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const level = i % (max + 1);
    const nudge = [0, 1e-7, -1e-7, 0.5 / max, -0.5 / max][i % 5];
    values[i] = (level + 0.5) / max + nudge;
  }
  values.set([-0.2, 1.3, 0, 1, Number.NaN], 0);
  return values;
}

describe('tensorsToImage', () => {
  it.each([8, 16] as const)('rounds %i-bit colour and alpha exactly as quantize() does, interleaved', async (bitDepth) => {
    const max = bitDepth === 16 ? 65535 : 255;
    const [h, w] = [37, 29];
    const color = tf.tensor3d(awkwardValues(max, h * w * 3), [h, w, 3]);
    const alpha = tf.tensor3d(awkwardValues(max, h * w).reverse(), [h, w, 1]);
    const image = await tensorsToImage(color, alpha, bitDepth);
    const expected = tf.tidy(() => quantize(tf.concat([color, alpha], 2), bitDepth).dataSync());
    expect(image).toMatchObject({ width: w, height: h, channels: 4, bitDepth });
    expect(image.data).toBeInstanceOf(bitDepth === 16 ? Uint16Array : Uint8Array);
    expect(Array.from(image.data)).toEqual(Array.from(expected));
    tf.dispose([color, alpha]);
  });

  it('keeps gray as one channel', async () => {
    const gray = tf.tensor3d([0, 0.5, 1, 0.25], [2, 2, 1]);
    const image = await tensorsToImage(gray, undefined, 8);
    expect(image.channels).toBe(1);
    expect(Array.from(image.data)).toEqual([0, 128, 255, 64]);
    gray.dispose();
  });
});
