/** `sr eval --metrics`: NIQE beside PSNR and SSIM in the table, the JSON and the CSV. */
import * as fs from 'fs';
import * as path from 'path';
import { readImage, writeImage } from '../../src/image/io';
import { niqeOfImage } from '../../src/metrics';
import { imageToTensor } from '../../src/image/tensor';
import { expectOneLineError, runSr } from '../helpers/cli';
import { tempDir, useTestBackend } from '../helpers/env';
import { patternImage } from '../helpers/images';

const dir = tempDir('sr-eval-metrics-');
const hrDir = path.join(dir, 'hr');
const srDir = path.join(dir, 'sr');

beforeAll(async () => {
  await useTestBackend();
  fs.mkdirSync(hrDir);
  // Big enough for NIQE's 96x96 blocks after the x2 border crop: 2 x 2 blocks.
  await writeImage(path.join(hrDir, 'a.png'), patternImage(200, 200, 3));
  await writeImage(path.join(hrDir, 'b.png'), patternImage(216, 200, 1));
});

describe('sr eval --metrics', () => {
  it('reports NIQE per image and as the mean when asked, computed on the saved result with the border crop', async () => {
    const csv = path.join(dir, 'scores.csv');
    const run = await runSr([
      'eval',
      '--dataset',
      hrDir,
      '--scale',
      '2',
      '--metrics',
      'psnr,ssim,niqe',
      '--json',
      '--csv',
      csv,
      '--save-images',
      srDir,
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.images).toHaveLength(2);
    for (const image of result.images) expect(Number.isFinite(image.niqe)).toBe(true);
    expect(result.mean.niqe).toBeCloseTo((result.images[0].niqe + result.images[1].niqe) / 2, 10);
    // The same number as NIQE of the written result (8-bit PNG), cropped by the scale.
    const saved = imageToTensor(await readImage(path.join(srDir, 'a.png')));
    expect(niqeOfImage(saved, { border: 2 })).toBeCloseTo(result.images[0].niqe, 6);
    saved.dispose();
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('image,psnr,ssim,niqe');
    expect(lines[3].split(',')[3]).toBe(result.mean.niqe.toFixed(4));
  });

  it('keeps PSNR and SSIM alone by default, and refuses an unknown metric in one line (exit 2)', async () => {
    const plain = await runSr(['eval', '--dataset', hrDir, '--scale', '2', '--json']);
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout).mean.niqe).toBeUndefined();
    const table = await runSr(['eval', '--dataset', hrDir, '--scale', '2', '--metrics', 'niqe']);
    expect(table.stdout).toMatch(/PSNR \(dB\)\s+SSIM\s+NIQE/);
    const bad = await runSr(['eval', '--dataset', hrDir, '--scale', '2', '--metrics', 'psnr,lpips']);
    expect(bad.code).toBe(2);
    expectOneLineError(bad);
    expect(bad.stderr).toMatch(/unknown metric 'lpips'/);
  });
});

describe('NIQE beside PSNR and SSIM elsewhere', () => {
  it('sr compare --metrics ... niqe scores every image and HR, in the table and the JSON', async () => {
    const hr = path.join(hrDir, 'a.png');
    const sr = path.join(srDir, 'a.png');
    const run = await runSr([
      'compare',
      hr,
      sr,
      '-o',
      path.join(dir, 'grid.png'),
      '--border',
      '2',
      '--metrics',
      'psnr,ssim,niqe',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    const hrTensor = imageToTensor(await readImage(hr));
    expect(result.hrNiqe).toBeCloseTo(niqeOfImage(hrTensor, { border: 2 }), 6);
    hrTensor.dispose();
    expect(Number.isFinite(result.scores[0].niqe)).toBe(true);
    const table = await runSr(['compare', hr, sr, '-o', path.join(dir, 'grid2.png'), '--metrics', 'niqe']);
    expect(table.stdout).toMatch(/NIQE/);
  });

  it('sr eval --report with niqe puts a NIQE column in the page', async () => {
    const page = path.join(dir, 'report.html');
    const run = await runSr(['eval', '--dataset', hrDir, '--scale', '2', '--metrics', 'psnr,ssim,niqe', '--report', page]);
    expect(run.code).toBe(0);
    const html = fs.readFileSync(page, 'utf8');
    expect(html).toContain('<th>NIQE</th>');
    expect(html).toMatch(/NIQE \d+\.\d{3}/);
  });
});
