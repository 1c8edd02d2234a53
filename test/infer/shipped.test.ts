/** The weights shipped in checkpoints/: they load by name and beat bicubic on Set5. */
import * as fs from 'fs';
import * as path from 'path';
import { resolveDataset } from '../../src/data/datasets';
import { interpolationUpscaler, loadUpscaler, SHIPPED_MODELS, shippedCheckpointsDir } from '../../src/infer';
import { evaluate } from '../../src/infer/evaluate';
import { sharedPath, useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

const shipped = SHIPPED_MODELS.flatMap((name) =>
  [2, 3, 4].filter((s) => fs.existsSync(path.join(shippedCheckpointsDir(), `${name}-x${s}`, 'MANIFEST'))).map((s) => [name, s] as const),
);

test('a model name without shipped weights for that scale fails with one clear line', async () => {
  await expect(loadUpscaler({ model: 'srgan', scale: 2 })).rejects.toThrow(/no shipped srgan weights for x2/);
});

const set5 = sharedPath('datasets', 'Set5');

test('checkpoints/ ships weights for every shipped model name', () => {
  expect(new Set(shipped.map(([name]) => name))).toEqual(new Set(SHIPPED_MODELS));
});

describe('shipped weights', () => {
  it.each(shipped)('%s x%i loads by name with the scale it was trained for', async (name, scale) => {
    const upscaler = await loadUpscaler({ model: name, scale });
    expect(upscaler.scale).toBe(scale);
    upscaler.dispose();
  });

  (set5 ? it.each(shipped) : it.skip.each(shipped))('%s x%i beats bicubic on Set5', async (name, scale) => {
    const images = resolveDataset(set5!).images;
    const model = await loadUpscaler({ model: name, scale });
    const ours = await evaluate({ datasetName: 'Set5', images, upscaler: model });
    const bicubic = await evaluate({ datasetName: 'Set5', images, upscaler: interpolationUpscaler('bicubic', scale) });
    model.dispose();
    expect(ours.mean.psnr).toBeGreaterThan(bicubic.mean.psnr);
  });
});
