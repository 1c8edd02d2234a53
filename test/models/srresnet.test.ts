/**
 * SRResNet's architecture options: the paper's network by default (what checkpoints written before
 * the options existed hold), the BasicSR-style global skip that starts training from bilinear
 * interpolation, and deepening a trained network without changing what it computes.
 */
import * as tf from '@tensorflow/tfjs';
import { getArchitecture, sameNetwork } from '../../src/models';
import { deepenSrresnet, type SrresnetOptions } from '../../src/models/srresnet';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

const srresnet = getArchitecture('srresnet');

function layerClasses(model: tf.LayersModel): string[] {
  return model.layers.map((l) => l.getClassName());
}

it("builds the paper's network from options that name only blocks and width: a 9x9 tanh tail, no skip", () => {
  const model = srresnet.build({ blocks: 1, width: 8 }, 4, 1);
  try {
    const tail = model.getLayer('tail_conv');
    expect(tail.getConfig()).toMatchObject({ kernelSize: [9, 9], activation: 'tanh' });
    expect(layerClasses(model)).not.toContain('SrResizeBilinear');
  } finally {
    model.dispose();
  }
});

it('with a global skip and a zero residual, outputs the input upscaled bilinearly with half-pixel centres', () => {
  const model = srresnet.build(srresnet.options.parse({ blocks: 1, width: 8, tail_kernel: 3, global_skip: 'bilinear' }), 2, 1);
  try {
    expect(model.getLayer('tail_conv').getConfig()).toMatchObject({ kernelSize: [3, 3], activation: 'linear' });
    const tail = model.getLayer('tail_conv');
    tail.setWeights(tail.getWeights().map((w) => tf.zerosLike(w)));
    // One row [a, b] per channel: half-pixel x2 samples at -0.25, 0.25, 0.75, 1.25 (edges clamp).
    const [a, b] = [0.2, 0.6];
    const x = tf.tensor4d([a, a, a, b, b, b], [1, 1, 2, 3]);
    const y = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 2, 4, 3]);
    const row = [a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b];
    const values = y.arraySync() as number[][][][];
    for (const outRow of values[0]) outRow.forEach((px, i) => px.forEach((v) => expect(v).toBeCloseTo(row[i], 6)));
    tf.dispose([x, y]);
  } finally {
    model.dispose();
  }
});

it('deepening adds blocks that start as identities: the same output, the old weights kept, the new blocks trainable', () => {
  const options = srresnet.options.parse({ blocks: 1, width: 4, tail_kernel: 3, global_skip: 'bilinear' }) as SrresnetOptions;
  const small = srresnet.build(options, 2, 3);
  const deep = deepenSrresnet(small, options, 2, 3, 7);
  const x = tf.randomUniform([1, 6, 5, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  try {
    expect(deep.layers.filter((l) => /^res\d+_add$/.test(l.name)).map((l) => l.name)).toEqual(['res0_add', 'res1_add', 'res2_add']);
    // The source's own layers hold the source's weights.
    const kept = (m: tf.LayersModel) => m.getLayer('res0_conv1').getWeights()[0].dataSync();
    expect(Array.from(kept(deep))).toEqual(Array.from(kept(small)));
    // Both in inference and in training mode (batch statistics), the output is the source's.
    for (const training of [false, true]) {
      const a = small.apply(x, { training }) as tf.Tensor;
      const b = deep.apply(x, { training }) as tf.Tensor;
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
      tf.dispose([a, b]);
    }
    // The added blocks' convolutions are random, not zero: only their last scale is.
    expect(tf.max(tf.abs(deep.getLayer('res2_conv1').getWeights()[0])).dataSync()[0]).toBeGreaterThan(0);
    expect(() => deepenSrresnet(small, options, 2, 1)).toThrow(/more than the 1 blocks/);
  } finally {
    x.dispose();
    small.dispose();
    deep.dispose();
  }
});

describe('sub-pixel convolutions start as ICNR (no checkerboard) unless upsample_init is he', () => {
  /** The largest spread of values inside any f x f cell of each channel of `y` ([1, H, W, C]). */
  function cellSpread(y: tf.Tensor4D, f: number): number {
    const [, h, w, c] = y.shape;
    const cells = tf.tidy(() =>
      y
        .reshape([h / f, f, w / f, f, c])
        .transpose([0, 2, 4, 1, 3])
        .reshape([-1, f * f]),
    );
    const spread = tf.tidy(() => cells.max(1).sub(cells.min(1)).max().dataSync()[0]);
    cells.dispose();
    return spread;
  }

  it.each([
    [2, [2]],
    [3, [3]],
    [4, [2, 2]],
  ])('x%i: every cell of each shuffled upsampler output is one value at the start', (scale, factors) => {
    const model = srresnet.build(srresnet.options.parse({ blocks: 1, width: 4 }), scale as number, 5);
    const he = srresnet.build(srresnet.options.parse({ blocks: 1, width: 4, upsample_init: 'he' }), scale as number, 5);
    const before = tf.memory().numTensors;
    try {
      (factors as number[]).forEach((f, i) => {
        for (const [net, cellsEqual] of [
          [model, true],
          [he, false],
        ] as const) {
          const probe = tf.model({ inputs: net.inputs, outputs: net.getLayer(`up${i}_shuffle`).output as tf.SymbolicTensor });
          const y = tf.tidy(() => probe.predict(tf.randomUniform([1, 6, 6, 3], 0, 1, 'float32', 3)) as tf.Tensor4D);
          const spread = cellSpread(y, f);
          y.dispose();
          if (cellsEqual) expect(spread).toBeLessThan(1e-6);
          else expect(spread).toBeGreaterThan(1e-3);
        }
      });
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
      he.dispose();
    }
  });
});

it('sameNetwork: options written before upsample_init existed, or with the other init, hold the same network', () => {
  const old = { blocks: 16, width: 64, tail_kernel: 9, global_skip: 'bilinear' };
  expect(sameNetwork('srresnet', old, srresnet.options.parse(old))).toBe(true);
  expect(sameNetwork('srresnet', { ...old, upsample_init: 'he' }, { ...old, upsample_init: 'icnr' })).toBe(true);
  expect(sameNetwork('srresnet', { tail_kernel: 9, global_skip: 'bilinear', width: 64, blocks: 16 }, old)).toBe(true);
  expect(sameNetwork('srresnet', old, { ...old, width: 32 })).toBe(false);
  expect(sameNetwork('srresnet', old, { ...old, unknown_key: 1 })).toBe(false);
  expect(sameNetwork('no-such-architecture', old, old)).toBe(false);
});
