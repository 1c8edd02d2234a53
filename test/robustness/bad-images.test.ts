/**
 * Bad and awkward images through `sr upscale`, `sr eval` and `sr train`: each is either handled
 * (palette, CMYK, 16-bit, 1x1 upscale fine) or refused with one line naming the file and exit 1 —
 * never a stack trace, a hang or a partial output file. Training skips bad images with a warning;
 * in an eval folder a bad image is an error (a score silently computed on fewer images would not
 * be comparable with published tables).
 */
import * as fs from 'fs';
import * as path from 'path';
import { readImage, writeImage } from '../../src/image/io';
import { expectOneLineError, runSr, type Run } from '../helpers/cli';
import { tempDir } from '../helpers/env';
import { patternImage } from '../helpers/images';
import { describeCorpus, makeCorpus, type CorpusFile } from './corpus';
import { tinyYaml } from './helpers';

const root = tempDir('sr-badimg-');
const corpusDir = path.join(root, 'corpus');
let corpus: CorpusFile[] = [];
let good: string;
const model = path.join(root, 'model-run');
let training: Run;

const byName = (name: string) => corpus.find((c) => c.name === name)!;
const bad = () => corpus.filter((c) => !c.good);

/** Puts a corpus entry into another folder (a hard link keeps an unreadable file unreadable). */
function place(entry: CorpusFile, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, entry.name);
  if (fs.statSync(entry.file).isDirectory()) fs.mkdirSync(target);
  else fs.linkSync(entry.file, target);
  return target;
}

/** Files other than `keep` in a folder: outputs or temp files a failed command left behind. */
function strays(dir: string, keep: string[] = []): string[] {
  return fs.readdirSync(dir).filter((n) => !keep.includes(n));
}

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  const made = await makeCorpus(corpusDir);
  corpus = made.files;
  if (made.unreadableSkipped) process.stdout.write(`note: ${made.unreadableSkipped}\n`);
  good = path.join(root, 'good.png');
  await writeImage(good, patternImage(48, 42, 3));
  // Training on every corpus file plus two good images: also the model the upscale cases use.
  const data = path.join(root, 'train');
  for (const entry of corpus) place(entry, data);
  await writeImage(path.join(data, 'good-a.png'), patternImage(48, 42, 3));
  await writeImage(path.join(data, 'good-b.png'), patternImage(45, 45, 1));
  const config = tinyYaml(path.join(root, 'train.yaml'), data, { iterations: 4, val_every: 2, save_every: 2 });
  training = await runSr(['--threads', '1', 'train', 'srcnn', '--config', config, '--val', data, '--out', model]);
});

test('the corpus is what it claims to be', async () => {
  const meta = await describeCorpus(corpusDir);
  expect([meta['huge-header.png'].width, meta['huge-header.png'].height]).toEqual([100_000, 100_000]);
  expect(meta['cmyk.jpg'].space).toBe('cmyk');
  expect(meta['palette.png'].isPalette).toBe(true);
  expect(meta['deep.png'].depth).toBe('ushort');
  expect(meta['animated.gif'].pages).toBe(3);
  expect(meta['animated.webp'].pages).toBe(3);
});

describe('sr upscale', () => {
  it('refuses each bad file with one line naming it, exit 1, and leaves no output or temp file', async () => {
    for (const entry of bad()) {
      const outDir = path.join(root, `up-${entry.name}`);
      fs.mkdirSync(outDir);
      const run = await runSr(['upscale', entry.file, '-o', path.join(outDir, 'out.png'), '--scale', '2']);
      expect({ name: entry.name, code: run.code }).toEqual({ name: entry.name, code: 1 });
      expectOneLineError(run);
      expect(run.stderr).toContain(`sr: ${entry.file}: `);
      expect(run.stderr).toMatch(entry.error!);
      expect(strays(outDir)).toEqual([]);
    }
  });

  it.each(['one-pixel.png', 'tiny.png', 'cmyk.jpg', 'palette.png', 'deep.png'])(
    'upscales %s with bicubic and with an SRCNN checkpoint',
    async (name) => {
      const entry = byName(name);
      const source = await readImage(entry.file);
      for (const [modelArgs, scale] of [
        [['--model', 'bicubic', '--scale', '2'], 2],
        [['--model', model], 3],
      ] as const) {
        const out = path.join(root, `up-${scale}-${name}.png`);
        const run = await runSr(['--threads', '1', 'upscale', entry.file, '-o', out, ...modelArgs, '--json']);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        const result = await readImage(out);
        expect([result.width, result.height]).toEqual([source.width * scale, source.height * scale]);
        // CMYK and palette come out as RGB; 16-bit stays 16-bit.
        expect(result.channels).toBe(3);
        expect(result.bitDepth).toBe(name === 'deep.png' ? 16 : 8);
      }
    },
  );
});

describe('sr eval', () => {
  it('a bad image in the dataset folder is an error naming it (exit 1), and no CSV is written', async () => {
    for (const entry of bad().filter((e) => e.name !== 'folder.png')) {
      const dir = path.join(root, `eval-${entry.name}`);
      place(entry, dir);
      fs.copyFileSync(good, path.join(dir, 'good.png'));
      const csv = path.join(root, `eval-${entry.name}.csv`);
      const run = await runSr(['--threads', '1', 'eval', '--dataset', dir, '--scale', '2', '--json', '--csv', csv]);
      expect({ name: entry.name, code: run.code }).toEqual({ name: entry.name, code: 1 });
      expectOneLineError(run);
      expect(run.stderr).toContain(path.join(dir, entry.name));
      expect(run.stderr).toMatch(entry.error!);
      expect(run.stdout).toBe('');
      expect(fs.existsSync(csv)).toBe(false);
      expect(fs.readdirSync(root).filter((n) => n.startsWith(`.eval-${entry.name}.csv`))).toEqual([]);
    }
  });

  it('an image too small to score at the scale is an error naming it', async () => {
    for (const name of ['one-pixel.png', 'tiny.png']) {
      const dir = path.join(root, `eval-small-${name}`);
      place(byName(name), dir);
      fs.copyFileSync(good, path.join(dir, 'good.png'));
      const run = await runSr(['--threads', '1', 'eval', '--dataset', dir, '--scale', '4', '--json']);
      expect(run.code).toBe(1);
      expectOneLineError(run);
      expect(run.stderr).toContain(`sr: ${path.join(dir, name)}: `);
      expect(run.stderr).toMatch(/too small to score at x4 \(at least 20x20 pixels\)/);
    }
  });

  it('scores CMYK, palette and 16-bit images; a folder named like an image is not an image', async () => {
    const dir = path.join(root, 'eval-odd');
    for (const name of ['cmyk.jpg', 'palette.png', 'deep.png', 'folder.png']) place(byName(name), dir);
    fs.copyFileSync(good, path.join(dir, 'good.png'));
    const run = await runSr(['--threads', '1', 'eval', '--dataset', dir, '--scale', '2', '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.images.map((i: { name: string }) => i.name)).toEqual(['cmyk', 'deep', 'good', 'palette']);
    for (const image of result.images) expect(image.psnr).toBeGreaterThan(20);
  });
});

describe('sr train', () => {
  it('skips every bad or too-small image with a warning naming it, and trains on the rest', () => {
    expect(training.code).toBe(0);
    const lines = training.stderr.trimEnd().split('\n');
    expect(training.stderr).not.toMatch(/^\s+at /m);
    const skipped = (file: string) => lines.filter((l) => l.startsWith(`skipping ${file}: `));
    const data = path.join(root, 'train');
    for (const entry of bad().filter((e) => e.name !== 'folder.png')) {
      // Once as training data and once as validation data.
      expect({ name: entry.name, warnings: skipped(path.join(data, entry.name)).length }).toEqual({ name: entry.name, warnings: 2 });
      expect(skipped(path.join(data, entry.name))[0]).toMatch(entry.error!);
    }
    for (const name of ['one-pixel.png', 'tiny.png']) {
      const [asTraining, asValidation] = skipped(path.join(data, name));
      expect(asTraining).toMatch(/smaller than one 15x15 patch/);
      // Caught when the run starts, not by a crash at the first validation.
      expect(asValidation).toMatch(/smaller than the 18x18 pixels needed to score it at x3/);
    }
    for (const name of ['cmyk.jpg', 'palette.png', 'deep.png', 'good-a.png', 'good-b.png'])
      expect(skipped(path.join(data, name))).toEqual([]);
    expect(training.stderr).toContain('starting at iteration 0/4 on 5 images');
    expect(training.stderr).toMatch(/iter 4 validation \d+\.\d+ dB/);
    expect(lines[lines.length - 1]).toMatch(/^finished at iteration 4/);
  });

  it('a folder of nothing but bad images is one error, exit 1', async () => {
    const dir = path.join(root, 'all-bad');
    for (const entry of [...bad(), byName('one-pixel.png'), byName('tiny.png')]) place(entry, dir);
    const config = tinyYaml(path.join(root, 'all-bad.yaml'), dir, { iterations: 2 });
    const out = path.join(root, 'all-bad-run');
    const run = await runSr(['--threads', '1', 'train', 'srcnn', '--config', config, '--out', out, '--json']);
    expect(run.code).toBe(1);
    expectOneLineError(run);
    expect(run.stderr).toMatch(new RegExp(`sr: ${dir}: none of the \\d+ images can be used for training`));
    expect(fs.existsSync(path.join(out, 'last'))).toBe(false);
  });
});
