/**
 * The point of the metrics: `sr eval --model bicubic` must reproduce the published bicubic
 * figures (listed in ../shared/README.md) within 0.05 dB and 0.002 SSIM.
 */
import { resolveDataset } from '../../src/data/datasets';
import { interpolationUpscaler } from '../../src/infer';
import { evaluate } from '../../src/infer/evaluate';
import { describeWithShared, useTestBackend } from '../helpers/env';

const PUBLISHED: Record<string, Record<number, [number, number]>> = {
  Set5: { 2: [33.66, 0.9299], 3: [30.39, 0.8682], 4: [28.42, 0.8104] },
  Set14: { 2: [30.24, 0.8688], 3: [27.55, 0.7742], 4: [26.0, 0.7027] },
};

beforeAll(useTestBackend);

for (const [set, byScale] of Object.entries(PUBLISHED)) {
  describeWithShared(`bicubic on ${set}`, ['datasets', set], (dir) => {
    for (const [scale, [psnr, ssim]] of Object.entries(byScale)) {
      it(`x${scale} gives ${psnr} dB / ${ssim}`, async () => {
        const dataset = resolveDataset(dir);
        const result = await evaluate({
          datasetName: set,
          images: dataset.images,
          upscaler: interpolationUpscaler('bicubic', Number(scale)),
        });
        expect(result.images).toHaveLength(set === 'Set5' ? 5 : 14);
        expect(Math.abs(result.mean.psnr - psnr)).toBeLessThanOrEqual(0.05);
        expect(Math.abs(result.mean.ssim - ssim)).toBeLessThanOrEqual(0.002);
      });
    }
  });
}
