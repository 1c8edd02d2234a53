/** The CLI end to end: `sr info`, `sr upscale`, `sr eval` on generated images, and the error paths. */
import * as fs from 'fs';
import * as path from 'path';
import { readImage, writeImage } from '../../src/image/io';
import { expectOneLineError, runSr } from '../helpers/cli';
import { tempDir } from '../helpers/env';
import { patternImage } from '../helpers/images';

const dir = tempDir('sr-cli-');
const rgb = path.join(dir, 'rgb.png');
const rgba = path.join(dir, 'rgba.png');
const gray = path.join(dir, 'gray.png');
const hrDir = path.join(dir, 'hr');
const emptyDir = path.join(dir, 'empty');

beforeAll(async () => {
  await writeImage(rgb, patternImage(24, 20, 3));
  await writeImage(rgba, patternImage(24, 20, 4));
  await writeImage(gray, patternImage(24, 20, 1));
  fs.mkdirSync(hrDir);
  fs.mkdirSync(emptyDir);
  await writeImage(path.join(hrDir, 'a.png'), patternImage(48, 40, 3));
  await writeImage(path.join(hrDir, 'b.png'), patternImage(36, 36, 1));
});

test('sr info names the backend and why the native ones were skipped', async () => {
  const run = await runSr(['info', '--json'], { SR_BACKEND: 'auto' });
  expect(run.code).toBe(0);
  const info = JSON.parse(run.stdout);
  expect(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).toContain(info.active);
  if (info.active === 'wasm') {
    expect(info.skipped.map((s: { backend: string }) => s.backend)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(info.skipped[0].reason).toMatch(/tfjs-node-gpu/);
  }
  // auto's fallbacks are the expected path: nothing on stderr.
  expect(run.stderr).toBe('');
});

test('an explicit --backend that cannot start falls back and says so on stderr, keeping --json parseable', async () => {
  const run = await runSr(['--backend', 'tensorflow', 'info', '--json']);
  expect(run.code).toBe(0);
  const info = JSON.parse(run.stdout);
  expect(info.requested).toBe('tensorflow');
  if (info.active === 'tensorflow') {
    expect(run.stderr).toBe('');
  } else {
    expect(run.stderr).toMatch(
      new RegExp(`^sr: warning: backend tensorflow could not start \\(.*tfjs-node.*\\); running on ${info.active}\n$`),
    );
  }
});

describe('sr upscale', () => {
  it('keeps RGB, alpha and gray, and sizes the output by the scale', async () => {
    for (const [input, channels] of [
      [rgb, 3],
      [rgba, 4],
      [gray, 1],
    ] as const) {
      const out = path.join(dir, `up-${channels}.png`);
      const run = await runSr(['upscale', input, '-o', out, '--model', 'bicubic', '--scale', '3', '--json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ output: out, width: 72, height: 60, channels });
      const img = await readImage(out);
      expect([img.width, img.height, img.channels]).toEqual([72, 60, channels]);
    }
  });

  it('--tile gives the same picture as a whole-image run', async () => {
    const whole = path.join(dir, 'whole.png');
    const tiled = path.join(dir, 'tiled.png');
    expect((await runSr(['upscale', rgb, '-o', whole, '--scale', '2'])).code).toBe(0);
    expect((await runSr(['upscale', rgb, '-o', tiled, '--scale', '2', '--tile', '8', '--tile-pad', '4'])).code).toBe(0);
    expect((await runSr(['upscale', rgb, '-o', whole, '--scale', '2', '--tile', 'auto'])).code).toBe(0);
    const bad = await runSr(['upscale', rgb, '-o', tiled, '--tile', 'big']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^sr: --tile must be 'auto' or a whole number \(0: the whole image at once\), got 'big'$/);
    const [a, b] = [await readImage(whole), await readImage(tiled)];
    expect([b.width, b.height]).toEqual([a.width, a.height]);
    let maxDiff = 0;
    a.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - b.data[i]))));
    expect(maxDiff).toBeLessThanOrEqual(1);
  });

  it('--outscale resizes the model result to any final scale; --ensemble runs', async () => {
    const out = path.join(dir, 'out35.png');
    const run = await runSr(['upscale', rgba, '-o', out, '--scale', '4', '--outscale', '3.5', '--ensemble', '--json']);
    expect(run.code).toBe(0);
    const img = await readImage(out);
    expect([img.width, img.height, img.channels]).toEqual([84, 70, 4]);
  });

  it('--alpha model keeps the alpha channel; an unknown mode is a usage error', async () => {
    const out = path.join(dir, 'alpha-model.png');
    const run = await runSr(['upscale', rgba, '-o', out, '--model', 'srcnn', '--scale', '2', '--alpha', 'model', '--tile', '8']);
    expect(run.code).toBe(0);
    const img = await readImage(out);
    expect([img.width, img.height, img.channels]).toEqual([48, 40, 4]);
    const bad = await runSr(['upscale', rgba, '-o', out, '--alpha', 'lanczos']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--alpha/);
  });

  it('--format overrides the extension', async () => {
    const out = path.join(dir, 'as-webp.png');
    expect((await runSr(['upscale', rgb, '-o', out, '--scale', '2', '--format', 'webp'])).code).toBe(0);
    expect(fs.readFileSync(out).subarray(8, 12).toString('latin1')).toBe('WEBP');
  });

  it('writes <name>_x<scale>.png beside the input by default, or into the folder -o names', async () => {
    const run = await runSr(['upscale', rgb, '--scale', '2']);
    expect(run.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'rgb_x2.png'))).toBe(true);
    const outDir = path.join(dir, 'single-out');
    fs.mkdirSync(outDir);
    const into = await runSr(['upscale', rgb, '--scale', '2', '-o', outDir, '--format', 'jpeg']);
    expect(into.code).toBe(0);
    expect(fs.readdirSync(outDir)).toEqual(['rgb_x2.jpg']);
    expect((await readImage(path.join(outDir, 'rgb_x2.jpg'))).width).toBe(48);
  });

  it.each([
    [['upscale', path.join(dir, 'nope.png'), '-o', path.join(dir, 'x.png')], 1, /no such file/],
    [['upscale', rgb, '-o', path.join(dir, 'x.png'), '--model', 'waifu'], 2, /unknown model 'waifu'/],
    [['upscale', rgb, '-o', path.join(dir, 'x.png'), '--scale', '5'], 2, /--scale must be 2, 3 or 4/],
    [['upscale', rgb, '-o', path.join(dir, 'x.gifx')], 2, /cannot tell the output format/],
    [['upscale', rgb, '-o', path.join(dir, 'x.png'), '--quality', '0'], 2, /--quality/],
    [['upscale', path.join(dir, 'garbage.png'), '-o', path.join(dir, 'x.png')], 1, /cannot decode|not an image/],
    [['upscale', rgb, '-o', path.join(dir, 'no-such-folder', 'x.png')], 2, /^sr: -o .*x\.png: folder .*no-such-folder does not exist$/m],
    [['upscale', rgb, '-o', path.join(dir, 'x.png'), '--model', 'srgan', '--scale', '2'], 2, /no shipped srgan weights for x2/],
    [['upscale', rgb, '-o', path.join(dir, 'x.png'), '--bogus'], 2, /^sr: unknown option '--bogus'/],
    [['upscale'], 2, /^sr: missing required argument 'input'/],
  ])('%j fails with exit %i and one line, leaving no output', async (args, code, pattern) => {
    fs.writeFileSync(path.join(dir, 'garbage.png'), 'not an image');
    const run = await runSr(args as string[]);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(pattern);
    expectOneLineError(run);
    expect(fs.existsSync(path.join(dir, 'x.png'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'no-such-folder'))).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--verbose adds the stack trace', async () => {
    const run = await runSr(['--verbose', 'upscale', path.join(dir, 'nope.png')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^\s+at /m);
  });
});

describe('sr eval', () => {
  it('prints one JSON object with per-image and mean scores, and writes CSV and images', async () => {
    const csv = path.join(dir, 'scores.csv');
    const saveDir = path.join(dir, 'saved');
    const run = await runSr([
      'eval',
      '--dataset',
      hrDir,
      '--model',
      'bicubic',
      '--scale',
      '2',
      '--json',
      '--csv',
      csv,
      '--save-images',
      saveDir,
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ dataset: 'hr', model: 'bicubic', scale: 2, channel: 'y' });
    expect(result.images.map((i: { name: string }) => i.name)).toEqual(['a', 'b']);
    for (const r of result.images) {
      expect(r.psnr).toBeGreaterThan(20);
      expect(r.ssim).toBeGreaterThan(0.5);
      expect(r.ssim).toBeLessThanOrEqual(1);
    }
    expect(result.mean.psnr).toBeCloseTo((result.images[0].psnr + result.images[1].psnr) / 2, 6);
    expect(fs.readFileSync(csv, 'utf8').trim().split('\n')).toHaveLength(4);
    expect(fs.readdirSync(saveDir).sort()).toEqual(['a.png', 'b.png']);
    const saved = await readImage(path.join(saveDir, 'b.png'));
    expect([saved.width, saved.height, saved.channels]).toEqual([36, 36, 1]);
  });

  it('ranks nearest below bilinear below bicubic on smooth content', async () => {
    const psnr: Record<string, number> = {};
    for (const model of ['nearest', 'bilinear', 'bicubic']) {
      const run = await runSr(['eval', '--dataset', hrDir, '--model', model, '--scale', '2', '--json']);
      psnr[model] = JSON.parse(run.stdout).mean.psnr;
    }
    expect(psnr.nearest).toBeLessThan(psnr.bilinear);
    expect(psnr.bilinear).toBeLessThan(psnr.bicubic);
  });

  it('prints a table when not --json', async () => {
    const run = await runSr(['eval', '--dataset', hrDir, '--scale', '4']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/mean/);
    expect(run.stdout).toMatch(/PSNR/);
  });

  it.each([
    [['eval', '--dataset', 'set99'], 2, /unknown dataset|set99/],
    [['eval', '--dataset', path.join(dir, 'missing-dir')], 2, /missing-dir/],
    [['eval', '--dataset', hrDir, '--metric-channel', 'cmyk'], 2, /cmyk/],
    [['eval', '--dataset', hrDir, '--scale', 'two'], 2, /--scale/],
    [['eval', '--dataset', emptyDir], 2, /no images/],
    // Checked before the evaluation runs, not found missing after it.
    [
      ['eval', '--dataset', hrDir, '--csv', path.join(dir, 'no-such-folder', 'scores.csv')],
      2,
      /^sr: --csv .*scores\.csv: folder .*no-such-folder does not exist$/m,
    ],
  ])('%j fails with exit %i', async (args, code, pattern) => {
    const run = await runSr(args as string[]);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(pattern);
    expectOneLineError(run);
  });
});

describe('sr upscale on a folder', () => {
  it('upscales matching images, continues past a bad one, skips existing ones, and exits 1 with a summary', async () => {
    const src = path.join(dir, 'batch');
    const out = path.join(dir, 'batch-out');
    fs.mkdirSync(src);
    await writeImage(path.join(src, 'one.png'), patternImage(10, 8, 3));
    await writeImage(path.join(src, 'two.jpg'), patternImage(12, 9, 3));
    await writeImage(path.join(src, 'gray.png'), patternImage(7, 7, 1));
    fs.writeFileSync(path.join(src, 'broken.png'), 'not an image');
    const run = await runSr(['upscale', src, '-o', out, '--scale', '2', '--suffix', '_up', '--json']);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout);
    expect(summary.written.map((w: { output: string }) => path.basename(w.output)).sort()).toEqual([
      'gray_up.png',
      'one_up.png',
      'two_up.jpg',
    ]);
    expect(summary.failed).toHaveLength(1);
    expect(summary.failed[0].input).toBe(path.join(src, 'broken.png'));
    expect(run.stderr.trim()).toMatch(/1 of 4 image\(s\) failed/);
    expect((await readImage(path.join(out, 'two_up.jpg'))).width).toBe(24);

    fs.rmSync(path.join(src, 'broken.png'));
    const again = await runSr([
      'upscale',
      src,
      '-o',
      out,
      '--scale',
      '2',
      '--suffix',
      '_up',
      '--skip-existing',
      '--pattern',
      '*.png',
      '--json',
    ]);
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout);
    expect(second.written).toEqual([]);
    expect(second.skipped.map((f: string) => path.basename(f)).sort()).toEqual(['gray.png', 'one.png']);
  });

  it('a pattern that matches nothing is a usage error that leaves no output folder behind', async () => {
    const out = path.join(dir, 'gif-out');
    const run = await runSr(['upscale', hrDir, '-o', out, '--scale', '2', '--pattern', '*.gif']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no images matching '\*\.gif'/);
    expectOneLineError(run);
    expect(fs.existsSync(out)).toBe(false);
  });
});
