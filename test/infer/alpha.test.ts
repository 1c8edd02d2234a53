/** Alpha channels through `upscaleImage`: bicubic (default) or the model, kept either way. */
import type { Image } from '../../src/image/io';
import { loadUpscaler, upscaleImage, type AlphaMode, type Upscaler } from '../../src/infer';
import { useTestBackend } from '../helpers/env';
import { patternImage } from '../helpers/images';

let srcnn: Upscaler;
beforeAll(async () => {
  await useTestBackend();
  srcnn = await loadUpscaler({ model: 'srcnn', scale: 2 });
});
// The model's tensors go with the backend, which the shared teardown shuts down after this file.

/** The pattern's colour with a given alpha per pixel. */
function withAlpha(width: number, height: number, alphaAt: (x: number, y: number) => number): Image {
  const image = patternImage(width, height, 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image.data[(y * width + x) * 4 + 3] = alphaAt(x, y);
  return image;
}

function alphaValues(image: Image): number[] {
  return Array.from({ length: image.width * image.height }, (_, i) => image.data[i * image.channels + image.channels - 1]);
}

describe.each<AlphaMode>(['bicubic', 'model'])('--alpha %s', (mode) => {
  it('keeps an RGBA image RGBA at the upscaled size', async () => {
    const out = await upscaleImage(
      withAlpha(21, 17, (x) => (x * 12) % 256),
      srcnn,
      { alpha: mode },
    );
    expect([out.width, out.height, out.channels, out.bitDepth]).toEqual([42, 34, 4, 8]);
  });

  it.each([0, 128, 255])('keeps a constant alpha of %i constant, borders included', async (level) => {
    const out = await upscaleImage(
      withAlpha(21, 17, () => level),
      srcnn,
      { alpha: mode },
    );
    const values = alphaValues(out);
    expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
    // Transparent stays transparent and opaque stays opaque (no haze, no faded edges).
    expect(Math.abs(values[0] - level)).toBeLessThanOrEqual(2);
  });

  it('keeps a gray+alpha image gray+alpha', async () => {
    const out = await upscaleImage(patternImage(12, 10, 2), srcnn, { alpha: mode });
    expect([out.width, out.height, out.channels]).toEqual([24, 20, 2]);
  });
});

test('--alpha model runs the mask through the model (a hard edge comes out differently from bicubic)', async () => {
  const image = withAlpha(24, 20, (x, y) => (x + y > 20 ? 255 : 0));
  const bicubic = alphaValues(await upscaleImage(image, srcnn, { alpha: 'bicubic' }));
  const model = alphaValues(await upscaleImage(image, srcnn, { alpha: 'model' }));
  const differing = bicubic.filter((v, i) => Math.abs(v - model[i]) > 2).length;
  expect(differing).toBeGreaterThan(10);
  // Far from the edge both agree with the input.
  expect([bicubic[0], model[0], bicubic[bicubic.length - 1], model[model.length - 1]]).toEqual([0, 0, 255, 255]);
});
