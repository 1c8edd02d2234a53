/** `sr compare`, `sr eval --report` and `sr demo` end to end, on generated images. */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { readImage, writeImage } from '../../src/image/io';
import { expectOneLineError, runSr } from '../helpers/cli';
import { tempDir } from '../helpers/env';
import { patternImage } from '../helpers/images';

const dir = tempDir('sr-report-cli-');
const hr = path.join(dir, 'hr.png');
const soft = path.join(dir, 'soft.png');
const noisy = path.join(dir, 'noisy.png');
const small = path.join(dir, 'small.png');

beforeAll(async () => {
  await writeImage(hr, patternImage(64, 48, 3));
  // Two degraded versions of HR: blurred, and with a block of changed pixels.
  fs.writeFileSync(soft, await sharp(hr).blur(1.2).png().toBuffer());
  const changed = patternImage(64, 48, 3);
  for (let y = 30; y < 40; y++) for (let x = 40; x < 56; x++) changed.data[(y * 64 + x) * 3] = 255 - changed.data[(y * 64 + x) * 3];
  await writeImage(noisy, changed);
  await writeImage(small, patternImage(32, 24, 3));
});

describe('sr compare', () => {
  it('writes a grid with a column per image, headed by labels and scores against HR', async () => {
    const two = path.join(dir, 'grid2.png');
    const three = path.join(dir, 'grid3.png');
    const run2 = await runSr(['compare', hr, soft, '-o', two, '--crop', '8,8,20,16', '--zoom', '2', '--json']);
    expect(run2.code).toBe(0);
    const r2 = JSON.parse(run2.stdout);
    expect(r2.crop).toEqual({ x: 8, y: 8, width: 20, height: 16 });
    expect(r2.scores.map((s: { label: string }) => s.label)).toEqual(['soft']);
    expect(r2.scores[0].psnr).toBeGreaterThan(15);
    expect(r2.scores[0].ssim).toBeLessThan(1);

    const run3 = await runSr([
      'compare',
      hr,
      soft,
      noisy,
      '-o',
      three,
      '--labels',
      'truth,blurred,inverted',
      '--crop',
      '8,8,20,16',
      '--zoom',
      '2',
      '--json',
    ]);
    expect(run3.code).toBe(0);
    const r3 = JSON.parse(run3.stdout);
    expect(r3.scores.map((s: { label: string }) => s.label)).toEqual(['blurred', 'inverted']);
    const [g2, g3] = [await readImage(two), await readImage(three)];
    expect([g2.width, g2.height]).toEqual([r2.width, r2.height]);
    expect(g3.width).toBeGreaterThan(g2.width);
    expect(g3.height).toBe(g2.height);
    // The crop is 40x32 once zoomed, under a header.
    expect(g2.height).toBeGreaterThan(32 + 20);
    if (r3.labelsRendered) {
      // Text makes the header rows non-uniform (a blank header would be all white).
      const header = g3.data.subarray(0, 20 * g3.width * g3.channels);
      expect(new Set(header).size).toBeGreaterThan(2);
    }
  });

  it('picks the crop automatically where the images are furthest from HR', async () => {
    const run = await runSr(['compare', hr, noisy, '-o', path.join(dir, 'auto.png'), '--crop-size', '16', '--json']);
    expect(run.code).toBe(0);
    const { crop } = JSON.parse(run.stdout);
    // The changed block is x 40..55, y 30..39: the 16x16 window must cover all of it.
    expect(crop.width).toBe(16);
    expect(crop.x).toBe(40);
    expect(crop.y).toBeLessThanOrEqual(30);
    expect(crop.y + 16).toBeGreaterThanOrEqual(40);
  });

  it('prints a table without --json', async () => {
    const run = await runSr(['compare', hr, soft, noisy, '-o', path.join(dir, 'table.png')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/soft\s+\d+\.\d\d\s+0\.\d{4}/);
    expect(run.stdout).toMatch(/noisy/);
  });

  it.each([
    [
      'an image of another size, named',
      () => [hr, soft, small, '-o', path.join(dir, 'x.png')],
      1,
      /small\.png: 32x24, but HR .*hr\.png is 64x48/,
    ],
    [
      'a crop outside the image',
      () => [hr, soft, '-o', path.join(dir, 'x.png'), '--crop', '60,0,10,10'],
      2,
      /does not fit inside the 64x48 image/,
    ],
    ['a malformed crop', () => [hr, soft, '-o', path.join(dir, 'x.png'), '--crop', '1,2,3'], 2, /--crop must be x,y,width,height/],
    [
      'the wrong number of labels',
      () => [hr, soft, noisy, '-o', path.join(dir, 'x.png'), '--labels', 'a'],
      2,
      /--labels has 1 label\(s\); give 2 .* or 3/,
    ],
    ['a non-PNG output', () => [hr, soft, '-o', path.join(dir, 'x.jpg')], 2, /written as PNG/],
    ['a missing image', () => [hr, path.join(dir, 'nope.png'), '-o', path.join(dir, 'x.png')], 1, /nope\.png: no such file/],
    [
      'a zoom out of range',
      () => [hr, soft, '-o', path.join(dir, 'x.png'), '--zoom', '0'],
      2,
      /--zoom must be a whole number from 1 to 16/,
    ],
  ])('%s fails with one line and writes nothing', async (_name, args, code, pattern) => {
    const run = await runSr(['compare', ...(args as () => string[])()]);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(pattern);
    expectOneLineError(run);
    expect(fs.existsSync(path.join(dir, 'x.png'))).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('needs at least one image besides HR', async () => {
    const run = await runSr(['compare', hr, '-o', path.join(dir, 'x.png')]);
    expect(run.code).toBe(2);
  });
});

describe('sr eval --report', () => {
  it('writes one self-contained page with the scores and crops', async () => {
    const hrDir = path.join(dir, 'set');
    fs.mkdirSync(hrDir);
    await writeImage(path.join(hrDir, 'a.png'), patternImage(48, 40, 3));
    await writeImage(path.join(hrDir, 'b.png'), patternImage(36, 36, 1));
    const report = path.join(dir, 'report.html');
    const run = await runSr([
      'eval',
      '--dataset',
      hrDir,
      '--model',
      'srcnn',
      '--scale',
      '2',
      '--json',
      '--report',
      report,
      '--report-zoom',
      '2',
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    const html = fs.readFileSync(report, 'utf8');
    expect(html).toContain('srcnn-x2');
    expect(html).toContain(result.images[0].psnr.toFixed(2));
    expect(html).toContain(result.mean.psnr.toFixed(2));
    expect(html.match(/<section class="sample"/g)).toHaveLength(2);
    expect(html).not.toMatch(/\bsrc="(?!data:image\/png;base64,)/);
  });

  it('refuses a report in a missing folder before evaluating', async () => {
    const run = await runSr(['eval', '--dataset', path.join(dir, 'set'), '--report', path.join(dir, 'no', 'r.html')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--report .*r\.html: folder .* does not exist/);
    expectOneLineError(run);
  });
});

describe('sr demo', () => {
  it('upscales the shipped photograph with bicubic and SRCNN, prints scores, writes the grid and the report', async () => {
    const out = path.join(dir, 'demo');
    const run = await runSr(['demo', '-o', out, '--scale', '3', '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.scale).toBe(3);
    expect(result.sample).toBe(path.resolve(__dirname, '..', '..', 'docs', 'samples', 'astronaut.png'));
    expect(result.hr).toEqual({ width: 510, height: 510 });
    expect(result.notes).toEqual([]);
    const byModel = Object.fromEntries(result.results.map((r: { model: string }) => [r.model, r]));
    expect(Object.keys(byModel).slice(0, 2)).toEqual(['bicubic', 'srcnn']);
    // A photograph: bicubic lands near 29 dB at x3, and SRCNN gains on it.
    expect(byModel.bicubic.psnr).toBeGreaterThan(18);
    expect(byModel.bicubic.psnr).toBeLessThan(35);
    expect(byModel.srcnn.psnr).toBeGreaterThan(byModel.bicubic.psnr);
    expect(byModel.srcnn.ssim).toBeGreaterThan(byModel.bicubic.ssim);
    for (const r of result.results) expect(r.ssim).toBeLessThanOrEqual(1);
    // Each shipped model either ran or is listed as skipped.
    expect(result.results.length - 1 + result.skipped.length).toBe(3);
    expect(result.grid).toBe(path.join(out, 'grid.png'));
    expect(result.report).toBe(path.join(out, 'report.html'));
    const grid = await readImage(result.grid);
    expect(grid.width).toBeGreaterThan(3 * 96);
    const html = fs.readFileSync(result.report, 'utf8');
    for (const r of result.results) expect(html).toContain(r.psnr.toFixed(2));
  });

  it('prints a table and the two paths without --json', async () => {
    const out = path.join(dir, 'demo-text');
    const run = await runSr(['demo', '-o', out, '--scale', '2']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/bicubic\s+\d+\.\d\d/);
    expect(run.stdout).toMatch(/srcnn-x2\s+\d+\.\d\d/);
    expect(run.stdout).toContain(`grid:   ${path.join(out, 'grid.png')}`);
    expect(run.stdout).toContain(`report: ${path.join(out, 'report.html')}`);
  });

  it('draws the sample at the size asked for with --size', async () => {
    const run = await runSr(['demo', '-o', path.join(dir, 'demo-size'), '--scale', '4', '--size', '128', '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect([result.hr, result.lr]).toEqual([
      { width: 128, height: 128 },
      { width: 32, height: 32 },
    ]);
    expect(result.sample).toBe('the drawn sample, 128x128');
  });

  it('takes the other photograph and the drawn test card by name', async () => {
    const [cat, card] = await Promise.all([
      runSr(['demo', '-o', path.join(dir, 'demo-cat'), '--scale', '4', '--sample', 'cat', '--json']),
      runSr(['demo', '-o', path.join(dir, 'demo-card'), '--scale', '4', '--sample', 'card', '--size', '96', '--json']),
    ]);
    expect([cat.code, card.code]).toEqual([0, 0]);
    const [catResult, cardResult] = [JSON.parse(cat.stdout), JSON.parse(card.stdout)];
    expect(path.basename(catResult.sample)).toBe('chelsea.png');
    expect(catResult.hr).toEqual({ width: 448, height: 300 });
    expect(cardResult.sample).toBe('the drawn sample, 96x96');
  });

  it('rejects a --size out of range, or given with --sample, as a usage error', async () => {
    for (const args of [
      ['--size', '10'],
      ['--size', '12.5'],
      ['--size', '128', '--sample', hr],
      ['--size', '128', '--sample', 'cat'],
    ]) {
      const run = await runSr(['demo', '-o', path.join(dir, 'demo-bad'), ...args]);
      expect(run.code).toBe(2);
      expectOneLineError(run);
      expect(run.stderr).toMatch(
        args.length === 2 ? /--size must be a whole number of pixels from 64 to 2048/ : /either a sample picture or a size/,
      );
    }
    expect(fs.existsSync(path.join(dir, 'demo-bad'))).toBe(false);
  });

  it('-o naming a file is an error', async () => {
    const run = await runSr(['demo', '-o', hr, '--scale', '2']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is a file; -o names the output folder/);
    expectOneLineError(run);
  });
});
