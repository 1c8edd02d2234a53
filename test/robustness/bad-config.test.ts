/**
 * Bad configuration through the CLI: each mistake is one line on stderr naming the key, the file or
 * the mismatch, with exit 2 for a usage mistake and 1 for a failure. Also what `--resume` does on a
 * folder without a checkpoint, and on one whose checkpoint was damaged.
 */
import * as fs from 'fs';
import * as path from 'path';
import { expectOneLineError, runSr, type Run } from '../helpers/cli';
import { tempDir } from '../helpers/env';
import { checkpointIteration, tinyYaml, trainingImages } from './helpers';

const root = tempDir('sr-badcfg-');
let data: string;
let good: string;
/** A finished tiny SRCNN x3 run. */
const run3 = path.join(root, 'srcnn-x3');

const train = (args: string[]): Promise<Run> => runSr(['--threads', '1', 'train', ...args, '--json']);

function yaml(name: string, text: string): string {
  const file = path.join(root, name);
  fs.writeFileSync(file, text);
  return file;
}

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  data = await trainingImages(path.join(root, 'data'));
  good = tinyYaml(path.join(root, 'good.yaml'), data, { iterations: 3 });
  const made = await train(['srcnn', '--config', good, '--out', run3]);
  expect(made.code).toBe(0);
});

const base = () => fs.readFileSync(good, 'utf8');

test.each([
  ['an unknown top-level key', () => yaml('unknown.yaml', base() + 'trian: {}\n'), 2, (f: string) => `sr: ${f}: unknown key 'trian'`],
  [
    'an unknown nested key',
    () => yaml('nested.yaml', base().replace('patch_size: 15', 'patchsize: 15, patch_size: 15')),
    2,
    (f: string) => `sr: ${f}: unknown key 'data.patchsize'`,
  ],
  [
    'a misspelt key in place of a required one',
    () => yaml('misspelt.yaml', base().replace('patch_size: 15', 'patchsize: 15')),
    2,
    (f: string) => `sr: ${f}: unknown key 'data.patchsize'`,
  ],
  ['a wrong type', () => yaml('type.yaml', base().replace('lr: 0.003', 'lr: "fast"')), 2, (f: string) => `sr: ${f}: train.lr: `],
  [
    'a wrong network option',
    () => yaml('net.yaml', base().replace('widths: [8, 4]', 'widths: [8, "four"]')),
    2,
    (f: string) => `sr: ${f}: network.widths.1: `,
  ],
  ['invalid YAML', () => yaml('broken.yaml', 'model: srcnn\ndata: {train: [\n'), 2, (f: string) => `sr: ${f}: invalid YAML`],
  ['a missing config file', () => path.join(root, 'nope.yaml'), 2, (f: string) => `sr: ${f}: no such config file`],
  [
    'a missing data folder',
    () => yaml('nodata.yaml', base().replace(JSON.stringify(data), JSON.stringify(path.join(root, 'no-data')))),
    1,
    () => `sr: training data folder ${path.join(root, 'no-data')} does not exist`,
  ],
  [
    'a config for another model',
    () => yaml('other.yaml', base().replace('model: srcnn', 'model: srresnet')),
    2,
    (f: string) => `sr: ${f} trains 'srresnet', not 'srcnn'`,
  ],
])('%s: one line naming it', async (_label, makeFile, code, message) => {
  const file = makeFile();
  const out = path.join(root, `out-${path.basename(file)}`);
  const run = await train(['srcnn', '--config', file, '--out', out]);
  expect(run.code).toBe(code);
  expectOneLineError(run);
  expect(run.stderr.startsWith(message(file))).toBe(true);
  expect(fs.existsSync(out)).toBe(false);
});

describe('a checkpoint that does not fit', () => {
  it('sr train --resume with another scale', async () => {
    const run = await train(['srcnn', '--config', good, '--out', run3, '--resume', '--scale', '2']);
    expect(run.code).toBe(2);
    expectOneLineError(run);
    expect(run.stderr).toBe(`sr: checkpoint ${path.join(run3, 'last')} was trained for x3, but the config asks for x2\n`);
  });

  it('sr upscale and sr eval with a scale the checkpoint was not trained for', async () => {
    const out = path.join(root, 'up.png');
    const up = await runSr(['upscale', path.join(data, 'img0.png'), '-o', out, '--model', run3, '--scale', '4']);
    expect(up.code).toBe(2);
    expectOneLineError(up);
    expect(up.stderr).toMatch(/^sr: checkpoint .*srcnn-x3\/(best|last) was trained for x3, not x4$/m);
    expect(fs.existsSync(out)).toBe(false);
    const ev = await runSr(['eval', '--dataset', data, '--model', run3, '--scale', '2', '--json']);
    expect(ev.code).toBe(2);
    expectOneLineError(ev);
    expect(ev.stderr).toMatch(/was trained for x3, not x2/);
  });

  it('sr train srresnet --resume on an SRCNN run folder (its own config.json)', async () => {
    const run = await train(['srresnet', '--out', run3, '--resume']);
    expect(run.code).toBe(2);
    expectOneLineError(run);
    expect(run.stderr).toBe(`sr: ${path.join(run3, 'config.json')} trains 'srcnn', not 'srresnet'\n`);
  });

  it('sr train srresnet --resume with an SRResNet config on an SRCNN run folder, before loading any data', async () => {
    // Training data that cannot be loaded: the mismatch must be found first, not after loading.
    const junk = path.join(root, 'junk');
    fs.mkdirSync(junk);
    fs.writeFileSync(path.join(junk, 'x.png'), 'not an image');
    const srresnet = yaml(
      'srresnet.yaml',
      `model: srresnet\nscale: 3\nnetwork: {blocks: 1, width: 8}\ndata: {train: ${JSON.stringify(junk)}, patch_size: 6, batch_size: 2}\ntrain: {iterations: 2, lr: 0.001}\n`,
    );
    const run = await train(['srresnet', '--config', srresnet, '--out', run3, '--resume']);
    expect(run.code).toBe(2);
    expectOneLineError(run);
    expect(run.stderr).toBe(`sr: checkpoint ${path.join(run3, 'last')} holds a srcnn network, but the config trains srresnet\n`);
    // The SRCNN run is untouched.
    expect(checkpointIteration(path.join(run3, 'last'))).toBe(3);
  });
});

describe('--resume', () => {
  it('on a run that has reached its target asks for more iterations, and leaves the run as it was', async () => {
    for (const extra of [[], ['--iterations', '2']]) {
      const run = await train(['srcnn', '--config', good, '--out', run3, '--resume', ...extra]);
      expect(run.code).toBe(2);
      expectOneLineError(run);
      expect(run.stderr).toBe(
        `sr: ${run3} has trained 3 iterations already (target ${extra.length ? 2 : 3}): give a larger --iterations to train on\n`,
      );
    }
    expect(checkpointIteration(path.join(run3, 'last'))).toBe(3);
  });

  it('on a folder with no checkpoint yet starts from scratch, and says so', async () => {
    const out = path.join(root, 'fresh');
    fs.mkdirSync(out);
    // Not --json: the notice is for people.
    const run = await runSr(['--threads', '1', 'train', 'srcnn', '--config', good, '--out', out, '--resume']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`--resume: ${out} holds no checkpoint yet, so training starts from scratch`);
    expect(run.stderr).toContain('starting at iteration 0/3');
    expect(checkpointIteration(path.join(out, 'last'))).toBe(3);
  });

  it('on a damaged checkpoint is an error, never a silent fresh start over it', async () => {
    const out = path.join(root, 'damaged');
    fs.cpSync(run3, out, { recursive: true });
    fs.rmSync(path.join(out, 'last', 'MANIFEST'));
    const run = await train(['srcnn', '--config', good, '--out', out, '--resume']);
    expect(run.code).toBe(1);
    expectOneLineError(run);
    expect(run.stderr).toMatch(/^sr: checkpoint .*damaged\/last is incomplete \(no MANIFEST\)/);
    // Without --resume, the folder is still recognised as holding a run.
    const again = await train(['srcnn', '--config', good, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a training run/);
    expect(fs.readdirSync(path.join(out, 'last')).sort()).toEqual([
      'meta.json',
      'model.json',
      'optimizer.bin',
      'optimizer.json',
      'state.json',
      'weights.bin',
    ]);
  });
});
