/**
 * Validation NIQE and the choice of best/: train.val_metrics adds NIQE to every validation (events,
 * log, checkpoint meta), train.best_by niqe keeps the lowest NIQE above a PSNR floor, resume keeps
 * the best, and bad keys or too-small validation images are said in one line before training.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import { checkSchema, parseConfig, srganConfigSchema, srganPhaseConfig, trainingConfigSchema, type TrainingConfig } from '../../src/config';
import { resolveTrainingConfig } from '../../src/config/resolve';
import { writeImage } from '../../src/image/io';
import { readCheckpointMeta } from '../../src/checkpoint';
import { bestRule, isNewBest, meanNiqe, type BestRule, type ValidationScore } from '../../src/train/best';
import { niqeMinimum, niqeScorable } from '../../src/train/validation';
import { readLog } from '../../src/train/log';
import { trainSupervised, type TrainEvent } from '../../src/train/recipes/pixel';
import { recipeFor } from '../../src/train/recipes';
import { PROJECT_ROOT, tempDir, useTestBackend } from '../helpers/env';
import { flatImage, patternImage } from '../helpers/images';

const root = tempDir('sr-best-');
const data = path.join(root, 'data');
/** Two images NIQE can score at x2 (two 96x96 blocks after the border). */
const val = path.join(root, 'val');
/** One of each: NIQE-sized, and too small for NIQE (but not for PSNR). */
const mixed = path.join(root, 'mixed');
/** A flat picture beside a textured one: NIQE is undefined on its output. */
const flat = path.join(root, 'flat');

const NIQE = { val_metrics: ['psnr', 'ssim', 'niqe'] };

function tinyConfig(out: string, train: Record<string, unknown> = {}, valDir = val): TrainingConfig {
  return parseConfig(
    trainingConfigSchema,
    {
      model: 'srcnn',
      scale: 2,
      network: { kernels: [5, 3, 3], widths: [8, 4] },
      data: { train: data, val: valDir, patch_size: 15, batch_size: 4 },
      // Eight validations of a run whose scores wander, so the PSNR-best and the NIQE-best differ.
      train: { iterations: 40, lr: 0.01, val_every: 5, save_every: 10, log_every: 10, seed: 2, ...train },
      out,
    },
    'test',
  );
}

async function run(config: TrainingConfig, resume = false) {
  const events: TrainEvent[] = [];
  const summary = await trainSupervised({ config, out: config.out!, resume, onEvent: (e) => events.push(e) });
  const validations = events.filter((e): e is Extract<TrainEvent, { type: 'validation' }> => e.type === 'validation');
  return { summary, events, validations };
}

/** The best a sequence of validations ends with, as the run chooses it. */
function foldBest(scores: ValidationScore[], rule: BestRule, start?: ValidationScore): ValidationScore | undefined {
  return scores.reduce<ValidationScore | undefined>((best, s) => (isNewBest(s, best, rule) ? s : best), start);
}

const score = (iteration: number, psnr: number, niqe?: number): ValidationScore => ({ iteration, psnr, ssim: 0.8, niqe });

beforeAll(async () => {
  await useTestBackend();
  for (const dir of [data, val, mixed, flat]) fs.mkdirSync(dir);
  await writeImage(path.join(data, 'a.png'), patternImage(60, 48, 3));
  await writeImage(path.join(data, 'b.png'), patternImage(45, 45, 1));
  await writeImage(path.join(val, 'c.png'), patternImage(200, 104, 3));
  await writeImage(path.join(val, 'd.png'), patternImage(104, 212, 1));
  await writeImage(path.join(mixed, 'c.png'), patternImage(200, 104, 3));
  await writeImage(path.join(mixed, 'small.png'), patternImage(120, 100, 3));
  await writeImage(path.join(flat, 'c.png'), patternImage(200, 104, 3));
  await writeImage(path.join(flat, 'grey.png'), flatImage(200, 104, [128, 128, 128]));
});

describe('the choice of best', () => {
  const scores = [score(10, 27.0, 6.0), score(20, 27.5, 5.5), score(30, 26.2, 4.0), score(40, 26.9, 5.0), score(50, 27.2, 5.8)];

  it('by PSNR is the highest PSNR, NIQE or not (the first of a tie)', () => {
    const rule = bestRule({ best_by: 'psnr', best_min_psnr: undefined });
    expect(foldBest(scores, rule)?.iteration).toBe(20);
    expect(isNewBest(score(60, 27.5), score(20, 27.5), rule)).toBe(false);
  });

  it('by NIQE is the lowest NIQE among validations at or above the floor', () => {
    // The lowest NIQE (30) is under the floor; of those above it, 40 is the lowest, not the PSNR-best 20.
    expect(foldBest(scores, { by: 'niqe', minPsnr: 26.5 })?.iteration).toBe(40);
    expect(foldBest(scores, { by: 'niqe', minPsnr: 26.0 })?.iteration).toBe(30);
    // At the floor exactly counts.
    expect(foldBest(scores, { by: 'niqe', minPsnr: 26.9 })?.iteration).toBe(40);
  });

  it('keeps the highest PSNR until a validation reaches the floor; without NIQE none does', () => {
    const rule = { by: 'niqe' as const, minPsnr: 28 };
    expect(foldBest(scores, rule)?.iteration).toBe(20);
    expect(foldBest([...scores, score(60, 28.1, 7.5)], rule)?.iteration).toBe(60);
    expect(foldBest([score(10, 29, undefined), score(20, 28.5, 9)], rule)?.iteration).toBe(20);
    // A best from before NIQE was measured (a resumed old run) gives way to the first that qualifies.
    expect(isNewBest(score(30, 28.2, 6), score(20, 29), rule)).toBe(true);
    expect(isNewBest(score(30, 27.9, 6), score(20, 29), rule)).toBe(false);
  });

  it('a validation has NIQE only when every image it measured has one', () => {
    expect(meanNiqe([4, 6])).toBe(5);
    expect(meanNiqe([4, undefined])).toBeUndefined();
    expect(meanNiqe([])).toBeUndefined();
  });

  it('knows which validation images NIQE can score', () => {
    expect(niqeScorable(200, 104, 4)).toBe(true);
    expect(niqeScorable(199, 104, 4)).toBe(false); // modcrop to 196: one block across after the border
    expect(niqeScorable(196, 100, 2)).toBe(true);
    expect(niqeScorable(120, 100, 2)).toBe(false);
    expect(niqeMinimum(4)).toBe('2 whole 96x96 blocks after a 4-pixel border, e.g. 200x104');
  });
});

describe('config keys', () => {
  const base = { model: 'srcnn', scale: 3, data: { train: 'x', patch_size: 33, batch_size: 16 }, train: { iterations: 10, lr: 0.001 } };
  const parse = (train: Record<string, unknown>) =>
    parseConfig(trainingConfigSchema, { ...base, train: { ...base.train, ...train } }, 'c.yaml').train;
  const oneLine = (train: Record<string, unknown>): string => {
    try {
      parse(train);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).not.toContain('\n');
      return message;
    }
    throw new Error('expected a config error');
  };

  it('defaults to PSNR and SSIM, best by PSNR; psnr and ssim are always measured', () => {
    expect(parse({})).toMatchObject({ val_metrics: ['psnr', 'ssim'], best_by: 'psnr' });
    expect(parse({}).best_min_psnr).toBeUndefined();
    expect(parse({ val_metrics: ['niqe'] }).val_metrics).toEqual(['psnr', 'ssim', 'niqe']);
    expect(parse({ val_metrics: ['niqe', 'psnr', 'niqe'] }).val_metrics).toEqual(['psnr', 'ssim', 'niqe']);
    expect(parse({ ...NIQE, best_by: 'niqe', best_min_psnr: 25.8 })).toMatchObject({ best_by: 'niqe', best_min_psnr: 25.8 });
  });

  it('says in one line what is wrong', () => {
    expect(oneLine({ best_bye: 'niqe' })).toBe("c.yaml: unknown key 'train.best_bye'");
    expect(oneLine({ val_metrics: ['psnr', 'lpips'] })).toMatch(/^c\.yaml: train\.val_metrics\.1: .*'psnr' \| 'ssim' \| 'niqe'/);
    expect(oneLine({ val_metrics: 'niqe' })).toMatch(/^c\.yaml: train\.val_metrics: Expected array/);
    expect(oneLine({ best_by: 'ssim' })).toMatch(/^c\.yaml: train\.best_by: .*'psnr' \| 'niqe'/);
    expect(oneLine({ best_by: 'niqe', best_min_psnr: 25 })).toBe(
      "c.yaml: train.best_by: 'niqe' needs niqe in val_metrics (val_metrics: [psnr, ssim, niqe])",
    );
    expect(oneLine({ ...NIQE, best_by: 'niqe' })).toMatch(
      /^c\.yaml: train\.best_by: 'niqe' needs best_min_psnr, .*NIQE alone rewards noise$/,
    );
    expect(oneLine({ best_min_psnr: 25 })).toMatch(/^c\.yaml: train\.best_min_psnr: is the PSNR floor of best_by: niqe/);
    expect(oneLine({ ...NIQE, best_by: 'niqe', best_min_psnr: '25' })).toMatch(/^c\.yaml: train\.best_min_psnr: Expected number/);
  });

  it('an SRGAN file takes them per phase, naming the phase; the packaged ones choose the GAN best by NIQE', () => {
    const file = (name: string) => YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'configs', name), 'utf8'));
    for (const name of ['srgan-x4.yaml', 'srgan-x4-cpu.yaml']) {
      const srgan = checkSchema(srganConfigSchema, file(name), name);
      const phase = (p: 'pretrain' | 'gan') => parseConfig(trainingConfigSchema, srganPhaseConfig(srgan, p), name).train;
      expect(phase('pretrain')).toMatchObject({ val_metrics: ['psnr', 'ssim'], best_by: 'psnr' });
      expect(phase('gan')).toMatchObject({ val_metrics: ['psnr', 'ssim', 'niqe'], best_by: 'niqe' });
      expect(phase('gan').best_min_psnr).toEqual(expect.any(Number));
      const { best_min_psnr: _floor, ...noFloor } = file(name).gan;
      expect(() => checkSchema(srganConfigSchema, { ...file(name), gan: noFloor }, name)).toThrow(
        new RegExp(`^${name}: gan\\.best_by: 'niqe' needs best_min_psnr`),
      );
    }
    // The pixel configs are unchanged: best by PSNR.
    for (const name of ['srcnn-quick.yaml', 'srresnet-x4.yaml']) {
      expect(checkSchema(trainingConfigSchema, file(name), name).train).toMatchObject({ val_metrics: ['psnr', 'ssim'], best_by: 'psnr' });
    }
  });
});

describe('training with validation NIQE', () => {
  let byPsnr: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    byPsnr = await run(tinyConfig(path.join(root, 'by-psnr'), NIQE));
  });

  it('reports NIQE in validation events, log.jsonl, curves and checkpoint meta; best stays by PSNR', async () => {
    const out = path.join(root, 'by-psnr');
    const { summary, validations } = byPsnr;
    expect(validations.map((v) => v.iteration)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    for (const v of validations) expect(v.niqe).toEqual(expect.any(Number));
    const logged = readLog(path.join(out, 'log.jsonl')).filter((r) => r.val_psnr !== undefined);
    expect(logged.map((r) => r.val_niqe)).toEqual(validations.map((v) => v.niqe));
    const scores = validations.map(({ iteration, psnr, ssim, niqe }) => ({ iteration, psnr, ssim, niqe }));
    expect(summary.best).toEqual(foldBest(scores, { by: 'psnr' }));
    expect(validations.filter((v) => v.best).map((v) => v.iteration)).toContain(summary.best!.iteration);
    const best = readCheckpointMeta(path.join(out, 'best')).validation!;
    expect(best).toEqual({ dataset: val, ...summary.best });
    expect(readCheckpointMeta(path.join(out, 'last')).validation).toMatchObject({ iteration: 40, niqe: validations[7].niqe });
    expect(fs.existsSync(path.join(out, 'curves.png'))).toBe(true);
  });

  it('best_by niqe keeps the lowest NIQE above the floor; resume continues from the best it recorded', async () => {
    const scores = byPsnr.validations.map(({ iteration, psnr, ssim, niqe }) => ({ iteration, psnr, ssim, niqe }));
    const psnrBest = byPsnr.summary.best!;
    // The highest floor (one of the validations' PSNRs) under which the NIQE-best is not the PSNR-best.
    const floor = scores
      .map((s) => s.psnr)
      .sort((a, b) => b - a)
      .find((f) => foldBest(scores, { by: 'niqe', minPsnr: f })!.iteration !== psnrBest.iteration);
    expect(floor).toBeDefined();
    const above = scores.filter((s) => s.psnr >= floor!);
    const expected = above.reduce((a, b) => (b.niqe! < a.niqe! ? b : a));
    // The floor matters: a validation under it had a lower NIQE still.
    expect(scores.some((s) => s.psnr < floor! && s.niqe! < expected.niqe!)).toBe(true);

    const byNiqe = { ...NIQE, best_by: 'niqe', best_min_psnr: floor };
    const straight = await run(tinyConfig(path.join(root, 'by-niqe'), byNiqe));
    expect(straight.summary.best).toEqual(expected);
    expect(straight.summary.best!.iteration).not.toBe(psnrBest.iteration);
    expect(readCheckpointMeta(path.join(root, 'by-niqe', 'best')).validation).toEqual({ dataset: val, ...expected });

    // 30 steps, then --resume to 40: the restored best decides the later flags as it did in one go
    // (35 is no best then: had the best been lost, it would be).
    const splitOut = path.join(root, 'by-niqe-split');
    const first = await run(tinyConfig(splitOut, { ...byNiqe, iterations: 30 }));
    const state = JSON.parse(fs.readFileSync(path.join(splitOut, 'last', 'state.json'), 'utf8'));
    expect(state.best).toEqual(first.summary.best);
    const second = await run(tinyConfig(splitOut, byNiqe), true);
    const flags = (r: typeof straight) => r.validations.map((v) => `${v.iteration}:${v.best}`);
    expect([...flags(first), ...flags(second)]).toEqual(flags(straight));
    expect(second.summary.best!.iteration).toBe(expected.iteration);
    expect(second.summary.best!.niqe).toBeCloseTo(expected.niqe!, 3);
  });
});

test('a run folder from before these keys resumes by PSNR; resumed with best_by niqe, its first qualifying validation becomes best', async () => {
  const out = path.join(root, 'old');
  await run(tinyConfig(out, { iterations: 20 }));
  // As an older version wrote it: no val_metrics, best_by, best_min_psnr in config.json.
  const configFile = path.join(out, 'config.json');
  const written = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  for (const key of ['val_metrics', 'best_by', 'best_min_psnr']) delete written.train[key];
  fs.writeFileSync(configFile, JSON.stringify(written));
  const resolved = resolveTrainingConfig(recipeFor('srcnn').config, { out, resume: true, iterations: 30 });
  expect(resolved.train).toMatchObject({ val_metrics: ['psnr', 'ssim'], best_by: 'psnr' });
  const byPsnr = await run(resolved, true);
  expect(byPsnr.validations.map((v) => v.niqe)).toEqual([undefined, undefined]);
  const before = byPsnr.summary.best!;
  expect(before.niqe).toBeUndefined();

  // The same folder continued under a config that chooses by NIQE (as --resume --config would).
  const byNiqe = await run(tinyConfig(out, { ...NIQE, iterations: 40, best_by: 'niqe', best_min_psnr: 0 }), true);
  expect(byNiqe.validations[0]).toMatchObject({ iteration: 35, niqe: expect.any(Number), best: true });
});

test('validation images too small for NIQE: each is a warning when others fit, a one-line error before training when none does', async () => {
  const warned = await run(tinyConfig(path.join(root, 'mixed-run'), { ...NIQE, iterations: 10 }, mixed));
  const warnings = warned.events.filter((e) => e.type === 'warning');
  expect(warnings).toEqual([
    expect.objectContaining({
      file: path.join(mixed, 'small.png'),
      message: expect.stringMatching(/small\.png: 120x100 is too small for NIQE at x2 .*the mean over the other 1$/),
    }),
  ]);
  expect(warned.validations.map((v) => v.niqe)).toEqual([expect.any(Number), expect.any(Number)]);

  const out = path.join(root, 'too-small');
  const tooSmall = tinyConfig(out, NIQE, data);
  const err = await trainSupervised({ config: tooSmall, out, resume: false }).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toMatch(/^train\.val_metrics has niqe, but none of the 2 validation images is big enough for it at x2/);
  expect((err as Error).message).not.toContain('\n');
  expect(fs.existsSync(path.join(out, 'last'))).toBe(false);
});

test('an output NIQE cannot score (a flat one) leaves that validation without NIQE, with a warning; the run goes on', async () => {
  const out = path.join(root, 'flat-run');
  const tensors = tf.memory().numTensors;
  const { summary, events, validations } = await run(tinyConfig(out, { ...NIQE, iterations: 10 }, flat));
  // Nothing of the run, its validations or their NIQE is left behind.
  expect(tf.memory().numTensors).toBe(tensors);
  expect(summary.iteration).toBe(10);
  expect(validations.map((v) => v.niqe)).toEqual([undefined, undefined]);
  const warnings = events.filter((e) => e.type === 'warning');
  expect(warnings).toEqual(
    [5, 10].map((iteration) =>
      expect.objectContaining({
        iteration,
        file: path.join(flat, 'grey.png'),
        message: expect.stringMatching(/this validation has no NIQE$/),
      }),
    ),
  );
  expect(readLog(path.join(out, 'log.jsonl')).some((r) => 'val_niqe' in r)).toBe(false);
});
