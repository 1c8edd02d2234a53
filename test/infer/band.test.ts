/**
 * Large pictures are upscaled in bands of rows (src/infer/index.ts), so that a 2000x2000 RGBA
 * picture at x4 never holds its 8000x8000 float copies at once: the banded result must equal the
 * whole-picture one within one level, alpha, gray and 16-bit included.
 */
import { interpolationUpscaler, modelUpscaler, upscaleImage } from '../../src/infer';
import type { Image } from '../../src/image/io';
import type { Upscaler } from '../../src/infer/upscaler';
import { getArchitecture } from '../../src/models';
import { useTestBackend } from '../helpers/env';
import { patternImage } from '../helpers/images';

beforeAll(useTestBackend);

function maxDifference(a: Image, b: Image): number {
  expect([a.width, a.height, a.channels, a.bitDepth]).toEqual([b.width, b.height, b.channels, b.bitDepth]);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
  return max;
}

function withAlpha(image: Image): Image {
  const channels = (image.channels + 1) as Image['channels'];
  const data = new (image.bitDepth === 16 ? Uint16Array : Uint8Array)(image.width * image.height * channels);
  const max = image.bitDepth === 16 ? 65535 : 255;
  for (let p = 0; p < image.width * image.height; p++) {
    for (let c = 0; c < image.channels; c++) data[p * channels + c] = image.data[p * image.channels + c];
    data[p * channels + image.channels] = (p * 37) % 5 === 0 ? 0 : max; // a ragged mask
  }
  return { ...image, data, channels };
}

async function bandedVersusWhole(upscaler: Upscaler, image: Image, alpha: 'bicubic' | 'model' = 'bicubic'): Promise<number> {
  const whole = await upscaleImage(image, upscaler, { alpha, bandPixels: 1e9 });
  // Bands of 3 LR rows: many band edges, each with context cut away.
  const banded = await upscaleImage(image, upscaler, { alpha, bandPixels: 3 * image.width * upscaler.scale ** 2 });
  return maxDifference(banded, whole);
}

test('bicubic in bands equals the whole picture: RGBA 8-bit, gray+alpha 16-bit', async () => {
  const bicubic = interpolationUpscaler('bicubic', 4);
  expect(await bandedVersusWhole(bicubic, withAlpha(patternImage(23, 29, 3)))).toBeLessThanOrEqual(1);
  expect(await bandedVersusWhole(bicubic, withAlpha(patternImage(19, 26, 1, 16)))).toBeLessThanOrEqual(1);
});

test('an SRResNet in bands equals the whole picture, alpha through the model too', async () => {
  const model = getArchitecture('srresnet').build({ blocks: 1, width: 8 }, 2, 3);
  const upscaler = modelUpscaler(model, { name: 't', scale: 2, inputSpace: 'rgb', inputIsUpsampled: false, shrink: 0 });
  expect(await bandedVersusWhole(upscaler, withAlpha(patternImage(21, 33, 3)), 'model')).toBeLessThanOrEqual(1);
  upscaler.dispose();
});
