/**
 * Divergence through the real CLI: a learning rate so large that the second step's loss overflows.
 * The default stops with a message naming the iteration and the last good checkpoint, which stays
 * loadable and finite; `--on-nan skip` skips the bad batches and still ends with a final checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import { expectOneLineError, runSr } from '../helpers/cli';
import { tempDir } from '../helpers/env';
import { checkpointIteration, tinyYaml, trainingImages, weights, type Event } from './helpers';
import { readLog } from '../../src/train/log';

const root = tempDir('sr-nan-');
let config: string;

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  const data = await trainingImages(path.join(root, 'data'));
  // Adam moves every weight by about lr in its first step: 1e20 makes the next outputs overflow.
  config = tinyYaml(path.join(root, 'diverge.yaml'), data, { iterations: 12, lr: 1e20, save_every: 1, log_every: 1 });
});

const events = (stdout: string): Event[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('a non-finite loss stops training, naming the iteration and keeping the last good checkpoint', async () => {
  const out = path.join(root, 'stop');
  const run = await runSr(['--threads', '1', 'train', 'srcnn', '--config', config, '--out', out, '--json']);
  expect(run.code).toBe(1);
  expectOneLineError(run);
  const match =
    /^sr: loss became (NaN|-?Infinity) at iteration (\d+); stopped \(last good checkpoint: (.+), iteration (\d+); --on-nan skip ignores such batches\)$/.exec(
      run.stderr.trim(),
    );
  expect(match).not.toBeNull();
  const [, , badIteration, dir, goodIteration] = match!;
  expect(dir).toBe(path.join(out, 'last'));
  expect(Number(goodIteration)).toBe(Number(badIteration) - 1);
  const nan = events(run.stdout).filter((e) => e.type === 'nan');
  expect(nan).toEqual([{ type: 'nan', iteration: Number(badIteration), action: 'stop' }]);
  // The checkpoint left is complete, at the iteration named, and holds finite weights.
  expect(checkpointIteration(dir)).toBe(Number(goodIteration));
  expect(weights(dir).every(Number.isFinite)).toBe(true);
  // Nothing past the good checkpoint was logged.
  expect(Math.max(...readLog(path.join(out, 'log.jsonl')).map((r) => r.iter))).toBe(Number(goodIteration));
  // The checkpoint works as a model.
  const up = await runSr([
    '--threads',
    '1',
    'upscale',
    path.join(root, 'data', 'img0.png'),
    '-o',
    path.join(root, 'up.png'),
    '--model',
    out,
  ]);
  expect(up.code).toBe(0);
});

test('--on-nan skip skips the bad batches, keeps counting, and still writes the final checkpoint', async () => {
  const out = path.join(root, 'skip');
  const run = await runSr(['--threads', '1', 'train', 'srcnn', '--config', config, '--out', out, '--on-nan', 'skip', '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const all = events(run.stdout);
  const skipped = all.filter((e) => e.type === 'nan').map((e) => e.iteration as number);
  expect(skipped.length).toBeGreaterThan(0);
  expect(all.filter((e) => e.type === 'nan').every((e) => e.action === 'skip')).toBe(true);
  expect(all.find((e) => e.type === 'done')).toMatchObject({ iteration: 12, stoppedEarly: false });
  // The last iteration was a skipped one, and the run's final checkpoint is there all the same.
  expect(skipped).toContain(12);
  expect(checkpointIteration(path.join(out, 'last'))).toBe(12);
  expect(weights(path.join(out, 'last')).every(Number.isFinite)).toBe(true);
  // Skipped batches never reach the log as a loss.
  const losses = readLog(path.join(out, 'log.jsonl')).filter((r) => r.loss !== undefined);
  expect(losses.every((r) => Number.isFinite(r.loss as number))).toBe(true);
  expect(losses.map((r) => r.iter).filter((i) => skipped.includes(i))).toEqual([]);
});

test('without a checkpoint before the divergence, the message says none was saved', async () => {
  const out = path.join(root, 'early');
  const rare = tinyYaml(path.join(root, 'rare.yaml'), path.join(root, 'data'), { iterations: 12, lr: 1e20, save_every: 100 });
  const run = await runSr(['--threads', '1', 'train', 'srcnn', '--config', rare, '--out', out, '--json']);
  expect(run.code).toBe(1);
  expectOneLineError(run);
  expect(run.stderr).toMatch(/^sr: loss became \S+ at iteration \d+; stopped \(no checkpoint was saved before it;/);
  expect(fs.existsSync(path.join(out, 'last'))).toBe(false);
});
