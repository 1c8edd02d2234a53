/**
 * The wasm Sum over leading axes (a product with a row of ones) and the single-input-channel Conv2D
 * (filter columns moved into the channel axis), against the cpu backend: forward values and gradients,
 * on the rewritten paths and on the cases they leave to the backend's own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { leadingAxesSumPlan, MAX_POOL_SIDE, MIN_MATMUL_SUM_SIZE, poolSide } from '../../../src/runtime/tfjs/kernels/sum';
import { singleChannelApplies } from '../../../src/runtime/tfjs/kernels/conv2d';
import { expectWasmMatchesCpu, initBackends, randomInput, runOn, withGradients } from './kernels.helpers';

beforeAll(initBackends);

describe('sum', () => {
  // [4, 16, 16, 20] is above MIN_MATMUL_SUM_SIZE, so leading-axes sums take the matrix product.
  const big = [4, 16, 16, 20];
  const cases: Array<[number[], number | number[], boolean]> = [
    [big, [0, 1, 2], false],
    [big, [0, 1, 2], true],
    [big, [0], false],
    [big, [1, 0], true],
    [big, [-4, -3], false],
    [big, 0, false],
    // Left to the backend's kernel: inner axes, every axis, axes that are not a leading run.
    [big, [3], false],
    [big, [0, 1, 2, 3], false],
    [big, [0, 2], true],
    [big, [1, 2], false],
    // Small: below the size threshold.
    [[3, 5, 4], [0, 1], false],
    // Over batch, height and width: pooled first (sides with divisors up to 8, then again), or not
    // at all (prime sides).
    [[3, 33, 21, 8], [0, 1, 2], false],
    [[2, 96, 96, 5], [0, 1, 2], true],
    [[2, 13, 17, 6], [0, 1, 2], false],
    // Leading size-1 and trailing size-1 axes.
    [[1, 64, 9, 10], [0, 1], false],
    [[64, 80, 1], [0], true],
  ];
  it.each(cases)('x=%j axis=%j keepDims=%s, with its gradient', async (shape, axis, keepDims) => {
    await expectWasmMatchesCpu(
      [randomInput(shape, 70)],
      withGradients((x) => tf.sum(x, axis, keepDims)),
    );
  });

  const meanCases: Array<[number[], number | number[], boolean]> = [
    [[4, 24, 24, 8], [0, 1, 2], false],
    [[4, 24, 24, 8], [0, 1, 2], true],
    [[3, 33, 21, 8], [0, 1], false],
    [[2, 13, 17, 6], [0, 1, 2], false],
    [[4, 24, 24, 8], [1, 2], true],
  ];
  it.each(meanCases)('mean x=%j axis=%j keepDims=%s, with its gradient', async (shape, axis, keepDims) => {
    await expectWasmMatchesCpu(
      [randomInput(shape, 79)],
      withGradients((x) => tf.mean(x, axis, keepDims)),
    );
  });

  it('int32 and bool inputs (the backend kernel) give exact sums', async () => {
    const x = randomInput(big, 71, 50);
    await expectWasmMatchesCpu([x], (t) => tf.sum(tf.cast(t, 'int32'), [0, 1, 2]), 0);
    await expectWasmMatchesCpu([x], (t) => tf.sum(tf.greater(t, 0), [0, 1]), 0);
  });

  it('infinities and NaN propagate as in a sequential sum', async () => {
    const x = randomInput([64, 80], 72);
    x.values[5] = Infinity;
    x.values[80 + 5] = Infinity;
    x.values[7] = -Infinity;
    x.values[11] = NaN;
    const [expected] = await runOn('cpu', [x], (t) => tf.sum(t, 0));
    const [actual] = await runOn('wasm', [x], (t) => tf.sum(t, 0));
    expect(actual.values[5]).toBe(Infinity);
    expect(actual.values[7]).toBe(-Infinity);
    expect(actual.values[11]).toBeNaN();
    // The other columns are finite and compared as usual (the helper's tolerance needs finite values).
    const finite = (o: { values: ArrayLike<number> }) => Array.from(o.values).filter((_, i) => ![5, 7, 11].includes(i));
    const a = finite(actual);
    const e = finite(expected);
    const scale = Math.max(...e.map(Math.abs));
    a.forEach((v, i) => expect(Math.abs(v - e[i])).toBeLessThanOrEqual(1e-4 * scale));
    expect([expected.values[5], expected.values[7]]).toEqual([Infinity, -Infinity]);
    expect(expected.values[11]).toBeNaN();
  });

  it('the bias gradient of a fused conv2d and of tf.layers dense', async () => {
    await expectWasmMatchesCpu(
      [randomInput([4, 17, 15, 3], 73), randomInput([3, 3, 3, 24], 74), randomInput([24], 75)],
      withGradients((x, w, b) =>
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, strides: 1, pad: 'same', activation: 'relu' }),
      ),
    );
    await expectWasmMatchesCpu(
      [randomInput([300, 20], 76), randomInput([20, 30], 77), randomInput([30], 78)],
      withGradients((a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias })),
    );
  });

  it('poolSide: the largest divisor up to MAX_POOL_SIDE', () => {
    expect(MAX_POOL_SIDE).toBe(8);
    expect([24, 96, 33, 21, 13, 8, 7, 1].map(poolSide)).toEqual([8, 8, 3, 7, 1, 8, 7, 1]);
  });

  it('leadingAxesSumPlan', () => {
    expect(MIN_MATMUL_SUM_SIZE).toBeGreaterThan(0);
    expect(leadingAxesSumPlan([16, 33, 33, 64], [0, 1, 2])).toEqual({ axes: 3, rows: 16 * 33 * 33, cols: 64 });
    expect(leadingAxesSumPlan([16, 33, 33, 64], [2, 0, 1, -4])).toEqual({ axes: 3, rows: 16 * 33 * 33, cols: 64 });
    expect(leadingAxesSumPlan([16, 64], 0)).toEqual({ axes: 1, rows: 16, cols: 64 });
    expect(leadingAxesSumPlan([16, 33, 33, 64], [0, 1, 2, 3])).toBeNull();
    expect(leadingAxesSumPlan([16, 33, 33, 64], [1, 2])).toBeNull();
    expect(leadingAxesSumPlan([16, 33, 33, 64], [0, 2])).toBeNull();
    expect(leadingAxesSumPlan([1, 1, 64], [0, 1])).toBeNull();
    expect(leadingAxesSumPlan([4, 0, 3], [0])).toBeNull();
  });
});

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

describe('conv2d with one input channel', () => {
  const cases: Array<[number[], number[], 'same' | 'valid' | number | ExplicitPadding]> = [
    [[2, 11, 13, 1], [9, 9, 1, 8], 'same'],
    [[2, 11, 13, 1], [9, 9, 1, 8], 'valid'],
    [[3, 10, 9, 1], [3, 5, 1, 4], 'same'],
    [[3, 10, 9, 1], [4, 4, 1, 3], 'same'],
    [[3, 10, 9, 1], [1, 5, 1, 2], 'valid'],
    [[2, 8, 7, 1], [3, 3, 1, 5], 2],
    [
      [2, 8, 7, 1],
      [3, 5, 1, 5],
      [
        [0, 0],
        [1, 2],
        [0, 3],
        [0, 0],
      ],
    ],
    // Left to the backend's kernel: a single filter column, several input channels.
    [[2, 8, 7, 1], [5, 1, 1, 3], 'same'],
    [[2, 8, 7, 2], [5, 5, 2, 3], 'same'],
  ];
  it.each(cases)('x=%j filter=%j pad %j, with gradients', async (xShape, wShape, pad) => {
    await expectWasmMatchesCpu(
      [randomInput(xShape, 80), randomInput(wShape, 81)],
      withGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, pad)),
    );
  });

  it('strides and dilations other than 1 go to the backend kernel', async () => {
    await expectWasmMatchesCpu(
      [randomInput([2, 11, 10, 1], 82), randomInput([3, 3, 1, 4], 83)],
      withGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')),
    );
    await expectWasmMatchesCpu([randomInput([2, 11, 10, 1], 84), randomInput([3, 3, 1, 4], 85)], (x, w) =>
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2),
    );
  });

  it('as tf.layers conv2d with bias and relu (SRCNN first layer, small)', async () => {
    await expectWasmMatchesCpu(
      [randomInput([4, 15, 15, 1], 86), randomInput([9, 9, 1, 16], 87), randomInput([16], 88)],
      withGradients((x, w, b) => tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b))),
    );
  });

  it('singleChannelApplies', () => {
    const unit = { strides: 1, dilations: 1, dataFormat: 'NHWC' } as const;
    expect(singleChannelApplies([16, 33, 33, 1], [9, 9, 1, 64], unit)).toBe(true);
    expect(singleChannelApplies([16, 33, 33, 1], [9, 9, 1, 64], { ...unit, strides: [1, 1], dilations: [1, 1] })).toBe(true);
    expect(singleChannelApplies([16, 33, 33, 1], [9, 1, 1, 64], unit)).toBe(false);
    expect(singleChannelApplies([16, 33, 33, 3], [9, 9, 3, 64], unit)).toBe(false);
    expect(singleChannelApplies([16, 33, 33, 1], [9, 9, 1, 64], { ...unit, strides: [1, 2] })).toBe(false);
    expect(singleChannelApplies([16, 33, 33, 1], [9, 9, 1, 64], { ...unit, dilations: 2 })).toBe(false);
    expect(singleChannelApplies([16, 1, 33, 33], [9, 9, 1, 64], { ...unit, dataFormat: 'NCHW' })).toBe(false);
  });
});
