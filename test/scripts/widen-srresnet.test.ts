/**
 * scripts/widen-srresnet.ts: a wider SRResNet (and a larger tail kernel) that computes what the
 * source computes, whose copied channels are not exact copies of one another (so training can tell
 * them apart), written as a checkpoint that `--init` accepts; and one-line errors for what it cannot widen.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/checkpoint';
import { SrError } from '../../src/core/errors';
import { widenCheckpoint } from '../../scripts/widen-srresnet';
import { saveTestCheckpoint } from '../helpers/checkpoints';
import { tempDir, useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

let dir: string;
beforeEach(() => {
  dir = tempDir('sr-widen-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** The output channels of a conv kernel [kh, kw, in, out] as arrays, by output channel. */
function filters(kernel: tf.Tensor): number[][] {
  const [kh, kw, cin, cout] = kernel.shape;
  const data = kernel.dataSync();
  return Array.from({ length: cout }, (_, o) => Array.from({ length: kh * kw * cin }, (_, i) => data[i * cout + o]));
}

/** The input rows of a conv kernel [kh, kw, in, out] as arrays, by input channel. */
function inputRows(kernel: tf.Tensor): number[][] {
  const [kh, kw, cin, cout] = kernel.shape;
  const data = kernel.dataSync();
  return Array.from({ length: cin }, (_, c) => {
    const row: number[] = [];
    for (let t = 0; t < kh * kw; t++) for (let o = 0; o < cout; o++) row.push(data[(t * cin + c) * cout + o]);
    return row;
  });
}

const cases = [
  { name: 'bilinear skip, x4, width 8 -> 12, tail 3 -> 5', options: { global_skip: 'bilinear', tail_kernel: 3 }, scale: 4, tail: 5 },
  { name: 'tanh tail, x3, width 8 -> 12, tail 3 -> 7', options: { global_skip: 'none', tail_kernel: 3 }, scale: 3, tail: 7 },
];

it.each(cases)('computes what the source computes ($name), with the copies told apart', async ({ options, scale, tail }) => {
  const source = path.join(dir, 'source');
  const small = await saveTestCheckpoint(source, {
    architecture: 'srresnet',
    options: { blocks: 2, width: 8, ...options },
    scale,
    seed: 5,
  });
  const target = path.join(dir, 'wide');
  await widenCheckpoint(source, target, { width: 12, tailKernel: tail, seed: 3 });
  const { meta, networks } = await loadCheckpoint(target);
  const wide = networks.model;
  const x = tf.randomUniform([2, 7, 6, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
  try {
    expect(meta.options).toEqual({
      blocks: 2,
      width: 12,
      tail_kernel: tail,
      global_skip: options.global_skip,
      upsample_init: 'icnr',
      upsample: 'subpixel',
    });
    expect(meta).toMatchObject({ architecture: 'srresnet', scale, widened: { from: source, width: [8, 12], tail_kernel: [3, tail] } });
    expect(wide.getLayer('tail_conv').getWeights()[0].shape).toEqual([tail, tail, 12, 3]);
    // Inference (moving statistics, which the test checkpoint has away from 0 and 1) and training mode (batch statistics).
    for (const training of [false, true]) {
      const a = small.apply(x, { training }) as tf.Tensor;
      const b = wide.apply(x, { training }) as tf.Tensor;
      expect(b.shape).toEqual(a.shape);
      expect(maxDiff(a, b)).toBeLessThan(1e-4);
      tf.dispose([a, b]);
    }
    // The head's new filters are exact copies of old ones (its input, RGB, is not widened)...
    const head = filters(wide.getLayer('head_conv').getWeights()[0]);
    const copied = head.slice(8).map((f) => head.slice(0, 8).findIndex((g) => g.every((v, i) => v === f[i])));
    expect(copied.every((c) => c >= 0)).toBe(true);
    // ...and the first block reads each copy through weights that differ, not even in proportion.
    const rows = inputRows(wide.getLayer('res0_conv1').getWeights()[0]);
    copied.forEach((c, k) => {
      const [copy, original] = [rows[8 + k], rows[c]];
      expect(copy).not.toEqual(original);
      const ratios = copy.map((v, i) => v / original[i]);
      expect(Math.max(...ratios) - Math.min(...ratios)).toBeGreaterThan(1e-3);
    });
  } finally {
    tf.dispose([x]);
    small.dispose();
    wide.dispose();
  }
});

it('the same seed gives the same checkpoint', async () => {
  const source = path.join(dir, 'source');
  const small = await saveTestCheckpoint(source, {
    architecture: 'srresnet',
    options: { blocks: 1, width: 4, tail_kernel: 3, global_skip: 'bilinear' },
    scale: 2,
  });
  small.dispose();
  for (const name of ['a', 'b']) await widenCheckpoint(source, path.join(dir, name), { width: 7, seed: 11 });
  const weights = (name: string) => fs.readFileSync(path.join(dir, name, 'weights.bin'));
  expect(weights('a').equals(weights('b'))).toBe(true);
});

it('refuses, in one line, a checkpoint that is not a sub-pixel SRResNet, a narrower width and a tail it cannot centre', async () => {
  const srcnn = path.join(dir, 'srcnn');
  (await saveTestCheckpoint(srcnn, { architecture: 'srcnn', options: {}, scale: 3 })).dispose();
  const source = path.join(dir, 'source');
  (
    await saveTestCheckpoint(source, {
      architecture: 'srresnet',
      options: { blocks: 1, width: 8, tail_kernel: 3, global_skip: 'bilinear' },
      scale: 4,
    })
  ).dispose();
  const nearest = path.join(dir, 'nearest');
  (
    await saveTestCheckpoint(nearest, { architecture: 'srresnet', options: { blocks: 1, width: 8, upsample: 'nearest' }, scale: 2 })
  ).dispose();
  const failures: [string, { width: number; tailKernel?: number }, RegExp][] = [
    [srcnn, { width: 12 }, /holds srcnn, not srresnet/],
    [nearest, { width: 12 }, /only sub-pixel upsamplers can be widened, not 'nearest'/],
    [source, { width: 6 }, /at least the 8 channels the network has, got 6/],
    [source, { width: 12, tailKernel: 4 }, /same parity/],
    [source, { width: 12, tailKernel: 1 }, /only to a larger one/],
  ];
  for (const [from, request, message] of failures) {
    const target = path.join(dir, 'out');
    const error = await widenCheckpoint(from, target, request).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SrError);
    expect((error as SrError).message).toMatch(message);
    expect((error as SrError).message).not.toContain('\n');
    expect(fs.existsSync(target)).toBe(false);
  }
});
