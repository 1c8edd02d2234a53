/**
 * How strong a fixed grid each model's outputs carry (src/metrics/grid.ts): for every image of an
 * HR folder that each SR folder holds under the same name (as `sr eval --save-images` writes them),
 * the phase-grid amplitude of the Y channel in grey levels, and the mean per folder, as JSON.
 *
 *   npx ts-node --transpile-only scripts/phase-grid.ts HR_DIR SR_DIR [SR_DIR...] [--period 4]
 *
 * HR is cut to SR's size from the top left, as `sr eval` cuts it to a multiple of the scale.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/runtime/tfjs';
import { readImage } from '../src/image/io';
import { splitImage } from '../src/image/tensor';
import { luma } from '../src/image/color';
import { listImages } from '../src/data/datasets';
import { phaseGrid } from '../src/metrics/grid';

async function greyLuma(file: string): Promise<tf.Tensor3D> {
  const { color, alpha } = splitImage(await readImage(file));
  alpha?.dispose();
  const y = tf.tidy(() => luma(color).mul(255) as tf.Tensor3D);
  color.dispose();
  return y;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--period');
  const period = at >= 0 ? Number(args.splice(at, 2)[1]) : 4;
  const [hrDir, ...srDirs] = args;
  if (!hrDir || srDirs.length === 0 || !(period >= 2)) throw new Error('usage: phase-grid.ts HR_DIR SR_DIR [SR_DIR...] [--period 4]');
  await initBackend({ backend: 'cpu' });
  const report: Record<string, { mean: number; images: Record<string, number> }> = {};
  for (const srDir of srDirs) {
    const images: Record<string, number> = {};
    for (const hrFile of listImages(hrDir)) {
      const name = path.parse(hrFile).name;
      const srFile = path.join(srDir, `${name}.png`);
      if (!fs.existsSync(srFile)) continue;
      const [sr, hrFull] = [await greyLuma(srFile), await greyLuma(hrFile)];
      const hr = hrFull.slice([0, 0, 0], sr.shape);
      images[name] = Number(phaseGrid(sr, hr, period).amplitude.toFixed(3));
      tf.dispose([sr, hr, hrFull]);
    }
    const values = Object.values(images);
    report[srDir] = { mean: Number((values.reduce((a, b) => a + b, 0) / values.length).toFixed(3)), images };
  }
  process.stdout.write(JSON.stringify({ period, report }, null, 2) + '\n');
  shutdownBackend();
}

main().catch((err: Error) => {
  process.stderr.write(`phase-grid: ${err.message}\n`);
  process.exit(1);
});
