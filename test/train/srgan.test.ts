/**
 * `sr train srgan` on a tiny configuration: the pretrain phase, the adversarial phase from its
 * checkpoint (both networks and both optimizers saved), exact resume, strips, and the errors a user
 * meets (no --init, a run folder of the other phase, --phase on another model).
 */
import * as fs from 'fs';
import * as path from 'path';
import YAML from 'yaml';
import {
  checkSchema,
  parseConfig,
  srganConfigSchema,
  srganPhaseConfig,
  trainingConfigSchema,
  type SrganPhase,
  type TrainingConfig,
} from '../../src/config';
import { readImage, writeImage } from '../../src/image/io';
import { loadUpscaler } from '../../src/infer';
import { loadCheckpoint, readCheckpointMeta } from '../../src/checkpoint';
import { readLog } from '../../src/train/log';
import { trainGan } from '../../src/train/recipes/srgan';
import { trainSupervised } from '../../src/train/recipes/pixel';
import { expectOneLineError, runSr } from '../helpers/cli';
import { tempDir, useTestBackend } from '../helpers/env';
import { patternImage } from '../helpers/images';
import { saveLayersModelDir, tinyVgg } from '../helpers/vgg';

const root = tempDir('sr-srgan-');
const data = path.join(root, 'data');
const vggDir = path.join(root, 'vgg');
const configFile = path.join(root, 'srgan-tiny.yaml');

/** configs/srgan-x4.yaml's shape, shrunk: a 1-block generator, a narrow discriminator, 16x16 HR crops. */
const tinySrgan = {
  model: 'srgan',
  scale: 2,
  network: { blocks: 1, width: 8 },
  discriminator: { width: 4, dense: 8 },
  data: { train: data, val: data, val_images: 1, patch_size: 8, batch_size: 2 },
  pretrain: { iterations: 6, lr: 0.001, val_every: 3, save_every: 3, log_every: 3, seed: 1 },
  gan: { iterations: 6, lr: 0.001, val_every: 3, save_every: 2, log_every: 2, strip_every: 3, seed: 2, content_loss: 'vgg22', vgg: vggDir },
};

function phaseConfig(phase: SrganPhase, out: string, extra: Record<string, unknown> = {}): TrainingConfig {
  const raw = { ...srganPhaseConfig(checkSchema(srganConfigSchema, tinySrgan, 'test'), phase), out, ...extra };
  return parseConfig(trainingConfigSchema, raw, 'test');
}

const bytes = (dir: string, file: string) => fs.readFileSync(path.join(dir, file));

beforeAll(async () => {
  await useTestBackend();
  fs.mkdirSync(data);
  await writeImage(path.join(data, 'a.png'), patternImage(48, 40, 3));
  await writeImage(path.join(data, 'b.png'), patternImage(40, 40, 1));
  await saveLayersModelDir(tinyVgg(), vggDir);
  fs.writeFileSync(configFile, YAML.stringify(tinySrgan));
  await trainSupervised({
    config: phaseConfig('pretrain', path.join(root, 'pre')),
    out: path.join(root, 'pre'),
    resume: false,
    modelLabel: 'srresnet',
  });
});

test('the adversarial phase starts from the pretrained generator and saves both networks, both optimizers and strips', async () => {
  const out = path.join(root, 'gan');
  const summary = await trainGan({ config: phaseConfig('gan', out, { init: path.join(root, 'pre', 'best') }), out, resume: false });
  expect(summary.iteration).toBe(6);
  const last = path.join(out, 'last');
  for (const file of [
    'model.json',
    'weights.bin',
    'discriminator.json',
    'discriminator.bin',
    'optimizer.bin',
    'optimizer-discriminator.bin',
    'state.json',
  ]) {
    expect(fs.existsSync(path.join(last, file))).toBe(true);
  }
  const { meta } = await loadCheckpoint(last, ['model', 'discriminator']);
  expect(meta).toMatchObject({ architecture: 'srresnet', model: 'srgan', scale: 2 });
  // The log carries every loss term.
  const steps = readLog(path.join(out, 'log.jsonl')).filter((r) => r.loss !== undefined);
  expect(steps.map((r) => r.iter)).toEqual([2, 4, 6]);
  for (const r of steps)
    for (const key of ['loss', 'content', 'adversarial', 'd_loss']) expect(Number.isFinite(r[key] as number)).toBe(true);
  // Strips: LR | bicubic | SR | HR of one validation crop, four square panels side by side.
  const strips = fs.readdirSync(path.join(out, 'strips'));
  expect(strips).toEqual(['iter-0000003.png', 'iter-0000006.png']);
  const strip = await readImage(path.join(out, 'strips', strips[0]));
  expect(strip.width).toBe(4 * strip.height);
  // The generator changed, and a GAN checkpoint is an upscaler like any other.
  expect(bytes(last, 'weights.bin').equals(bytes(path.join(root, 'pre', 'best'), 'weights.bin'))).toBe(false);
  const upscaler = await loadUpscaler({ model: out });
  expect(upscaler.scale).toBe(2);
  upscaler.dispose();
});

test('--resume of the adversarial phase continues exactly: 2 + resume + 4 steps equal 6 steps', async () => {
  const init = path.join(root, 'pre', 'best');
  const straight = path.join(root, 'straight');
  await trainGan({ config: phaseConfig('gan', straight, { init }), out: straight, resume: false });
  const split = path.join(root, 'split');
  const short = phaseConfig('gan', split, { init });
  short.train.iterations = 2;
  await trainGan({ config: short, out: split, resume: false });
  // The resumed run keeps its config but for the iteration count, as `--resume --iterations` does.
  const resumed = phaseConfig('gan', split, { init });
  await trainGan({ config: resumed, out: split, resume: true });
  for (const file of ['weights.bin', 'discriminator.bin', 'optimizer.bin', 'optimizer-discriminator.bin']) {
    expect(bytes(path.join(split, 'last'), file).equals(bytes(path.join(straight, 'last'), file))).toBe(true);
  }
  // The init recorded at the fresh start survives the resume.
  const initIterations = readCheckpointMeta(init).training!.iterations;
  expect(readCheckpointMeta(path.join(split, 'last')).training!.init).toMatchObject({ dir: init, iterations: initIterations });
});

test('the adversarial phase refuses to start without --init, or in a pretrain run folder', async () => {
  const out = path.join(root, 'no-init');
  await expect(trainGan({ config: phaseConfig('gan', out), out, resume: false })).rejects.toThrow(/give --init <SRResNet checkpoint>/);
  const pre = path.join(root, 'pre');
  await expect(trainGan({ config: phaseConfig('gan', pre, { init: path.join(pre, 'best') }), out: pre, resume: true })).rejects.toThrow(
    /is a srresnet run, not a srgan one/,
  );
});

describe('sr train srgan', () => {
  it('runs both phases from one config file', async () => {
    const pre = path.join(root, 'cli-pre');
    const gan = path.join(root, 'cli-gan');
    const first = await runSr([
      '--threads',
      '1',
      'train',
      'srgan',
      '--config',
      configFile,
      '--phase',
      'pretrain',
      '--out',
      pre,
      '--iterations',
      '2',
      '--json',
    ]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const second = await runSr([
      '--threads',
      '1',
      'train',
      'srgan',
      '--config',
      configFile,
      '--phase',
      'gan',
      '--init',
      path.join(pre, 'last'),
      '--out',
      gan,
      '--iterations',
      '2',
      '--json',
    ]);
    expect(second.code).toBe(0);
    const events = second.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const step = events.find((e) => e.type === 'step');
    expect(Object.keys(step.losses).sort()).toEqual(['adversarial', 'content', 'd_loss', 'loss']);
    expect(events[events.length - 1]).toMatchObject({ type: 'done', iteration: 2 });
    expect(JSON.parse(fs.readFileSync(path.join(gan, 'config.json'), 'utf8')).gan.content_loss).toBe('vgg22');
    // --resume finds the phase in the run folder; asking for the other one is a usage error.
    const wrong = await runSr(['train', 'srgan', '--phase', 'pretrain', '--out', gan, '--resume']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/is a --phase gan run, not --phase pretrain/);
    expectOneLineError(wrong);
  });

  it('explains what is missing: --init for the adversarial phase, --phase on another model', async () => {
    const noInit = await runSr(['train', 'srgan', '--config', configFile, '--phase', 'gan', '--out', path.join(root, 'cli-none')]);
    expect(noInit.code).toBe(2);
    expect(noInit.stderr).toMatch(/give --init/);
    expectOneLineError(noInit);
    // Without gan.vgg, the weights `sr data download vgg19` installs; none there: said before any work.
    const noVggConfig = path.join(root, 'srgan-no-vgg.yaml');
    const { vgg: _vgg, ...ganWithoutVgg } = tinySrgan.gan;
    fs.writeFileSync(noVggConfig, YAML.stringify({ ...tinySrgan, gan: ganWithoutVgg }));
    const noVgg = await runSr(
      [
        'train',
        'srgan',
        '--config',
        noVggConfig,
        '--phase',
        'gan',
        '--init',
        path.join(root, 'pre', 'best'),
        '--out',
        path.join(root, 'cli-novgg'),
      ],
      {
        SR_DATA_DIR: tempDir('sr-empty-data-'),
      },
    );
    expect(noVgg.code).toBe(1);
    expect(noVgg.stderr).toMatch(/content loss needs VGG19 weights: run `sr data download vgg19`/);
    expectOneLineError(noVgg);
    expect(fs.existsSync(path.join(root, 'cli-novgg'))).toBe(false);
    const badPhase = await runSr(['train', 'srcnn', '--phase', 'gan']);
    expect(badPhase.code).toBe(2);
    expect(badPhase.stderr).toMatch(/--phase is for `sr train srgan`/);
  });
});
