/**
 * The wasm kernels of src/runtime/tfjs/kernels, and every op the SRCNN/SRGAN/VGG training needs, checked
 * against the cpu backend on small shapes: forward values and gradients, within 1e-4 relative.
 */
import * as tf from '@tensorflow/tfjs';
import { gradientLabel, registerFastKernels } from '../../../src/runtime/tfjs/kernels';
import { preluGradConfig } from '../../../src/runtime/tfjs/kernels/prelu_grad';
import { fusedBatchNormGradConfig, meanGradConfig } from '../../../src/runtime/tfjs/kernels/batch_norm';
import { polyphaseAxis, polyphaseFilterIndex } from '../../../src/runtime/tfjs/kernels/conv_geometry';
import { splitReps, tilePlan } from '../../../src/runtime/tfjs/kernels/tile';
import { matMulPlan } from '../../../src/runtime/tfjs/kernels/batch_mat_mul';
import { filterGradientNHWC } from '../../../src/runtime/tfjs/kernels/conv2d_backprop_filter';
import { convAxes } from '../../../src/runtime/tfjs/kernels/conv_geometry';
import { expectWasmMatchesCpu, initBackends, randomInput, runOn, withGradients, expectClose, type Output } from './kernels.helpers';

beforeAll(initBackends);

describe('registerFastKernels', () => {
  it('registers the missing and slow wasm kernels once, the DepthToSpace gradient and the faster PReLU one', () => {
    const first = registerFastKernels('wasm');
    const kernel = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    const batchMatMul = tf.getKernel(tf.BatchMatMul, 'wasm');
    expect(first).toEqual(
      expect.arrayContaining([
        tf.Conv2DBackpropFilter,
        tf.Conv2DBackpropInput,
        tf.BatchMatMul,
        tf.DepthToSpace,
        tf.Tile,
        tf.MaxPoolGrad,
        tf.Sum,
        tf.Conv2D,
        tf.FusedBatchNorm,
        gradientLabel(tf.DepthToSpace),
        gradientLabel(tf.Prelu),
        gradientLabel(tf.FusedBatchNorm),
        gradientLabel(tf.Mean),
      ]),
    );
    expect(registerFastKernels('wasm')).toEqual(first);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBe(kernel);
    // Still one BatchMatMul deep: a second call must not wrap our kernel around itself.
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).toBe(batchMatMul);
    expect(tf.getGradient(tf.DepthToSpace)).toBeDefined();
    expect(tf.getGradient(tf.Prelu)).toBe(preluGradConfig);
    expect(tf.getGradient(tf.FusedBatchNorm)).toBe(fusedBatchNormGradConfig);
    expect(tf.getGradient(tf.Mean)).toBe(meanGradConfig);
  });
});

describe('batch normalisation in training', () => {
  const shape = [2, 5, 4, 3];
  const epsilon = 1e-3;
  // Channel means far from zero (3, 6, 9) against a spread of about 0.6, as after a convolution with a
  // bias: where (x - mean) is formed decides how many digits survive.
  const x = randomInput(shape, 21);
  x.values.forEach((v, i) => (x.values[i] = v + 3 * (1 + (i % 3))));
  const gamma = randomInput([3], 22, 2);
  const beta = randomInput([3], 23);
  const dy = randomInput(shape, 24);

  /** What tfjs-layers' BatchNormalization does in training: tf.moments, then tf.batchNorm. */
  const layerPath = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(xs, [0, 1, 2]);
    return tf.batchNorm(xs, mean, variance, b, g, epsilon);
  };

  /** The output and the gradients for x, gamma and beta, in float64 from the textbook formulas. */
  function reference(): Output[] {
    const channels = 3;
    const count = x.values.length / channels;
    const y = new Float32Array(x.values.length);
    const dx = new Float32Array(x.values.length);
    const dgamma = new Float32Array(channels);
    const dbeta = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const at = (i: number) => i * channels + c;
      let mean = 0;
      for (let i = 0; i < count; i++) mean += x.values[at(i)] / count;
      let variance = 0;
      for (let i = 0; i < count; i++) variance += (x.values[at(i)] - mean) ** 2 / count;
      const inverseStd = 1 / Math.sqrt(variance + epsilon);
      const xhat = (i: number) => (x.values[at(i)] - mean) * inverseStd;
      let sumDy = 0;
      let sumDyXhat = 0;
      for (let i = 0; i < count; i++) {
        sumDy += dy.values[at(i)];
        sumDyXhat += dy.values[at(i)] * xhat(i);
      }
      for (let i = 0; i < count; i++) {
        y[at(i)] = gamma.values[c] * xhat(i) + beta.values[c];
        dx[at(i)] = gamma.values[c] * inverseStd * (dy.values[at(i)] - sumDy / count - (xhat(i) * sumDyXhat) / count);
      }
      dgamma[c] = sumDyXhat;
      dbeta[c] = sumDy;
    }
    const out = (values: Float32Array, s: number[]): Output => ({ shape: s, dtype: 'float32', values });
    return [out(y, shape), out(dx, shape), out(dgamma, [3]), out(dbeta, [3])];
  }

  it.each(['wasm', 'cpu'])("on %s: the output and the gradients for x, gamma and beta are the formulas' values", async (backend) => {
    const outputs = await runOn(backend, [x, gamma, beta, dy], (xs, g, b, d) => [
      layerPath(xs, g, b),
      ...tf.grads(layerPath)([xs, g, b], d),
    ]);
    const expected = reference();
    ['y', 'dx', 'dgamma', 'dbeta'].forEach((label, i) => expectClose(outputs[i], expected[i], 1e-4, label));
  });

  it("statistics kept at x's rank go to the backend's own kernel, with the same output", async () => {
    const [y] = await runOn('wasm', [x, gamma, beta], (xs, g, b) => {
      const { mean, variance } = tf.moments(xs, [0, 1, 2], true);
      return tf.batchNorm(xs, mean, variance, b.reshape([1, 1, 1, 3]), g.reshape([1, 1, 1, 3]), epsilon);
    });
    expectClose(y, reference()[0], 1e-4, 'y');
  });

  it.each([
    ['batch, height and width', [0, 1, 2], false],
    ['one inner axis, kept', [2], true],
    ['every axis', [0, 1, 2, 3], false],
  ])('the Mean gradient over %s is dy / n, exactly as tfjs computes it', async (_label, axes, keepDims) => {
    const [ours, tfjs] = await runOn('wasm', [x], (xs) => {
      const reduced = tf.mean(xs, axes as number[], keepDims as boolean);
      const upstream = tf.randomUniform(reduced.shape, -1, 1, 'float32', 5);
      const [gradient] = tf.grads((t: tf.Tensor) => tf.mean(t, axes as number[], keepDims as boolean))([xs], upstream);
      const kept = xs.shape.map((size, axis) => ((axes as number[]).includes(axis) ? 1 : size));
      const n = xs.size / reduced.size;
      return [gradient, tf.div(tf.mul(upstream.reshape(kept), tf.ones(xs.shape)), n)];
    });
    expectClose(ours, tfjs, 0, 'dx');
  });
});

describe('PReLU gradient', () => {
  it.each([
    ['per channel, shared over height and width (the layer)', [1, 1, 5], [0, 1, 2]],
    ['per channel, rank 1', [5], [0, 1, 2]],
    ['per element', [4, 3, 5], [0]],
  ])("%s: the values of tfjs's own definition", async (_label, alphaShape, axes) => {
    // Negative, positive and exact zeros in x; slopes below 0, between 0 and 1, and above 1.
    const x = randomInput([2, 4, 3, 5], 11);
    for (let i = 0; i < x.values.length; i += 7) x.values[i] = 0;
    const alpha = randomInput(alphaShape as number[], 13, 1.5);
    const dy = randomInput([2, 4, 3, 5], 14);
    const [gx, galpha, dx, dalpha] = await runOn('wasm', [x, alpha, dy], (xs, a, g) => {
      const [ours, oursAlpha] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.prelu(p, q))([xs, a], g);
      // tfjs's definition, written out: dy where x > 0, alpha * dy elsewhere (x = 0 included);
      // dalpha sums dy * x where x <= 0 over the axes alpha is broadcast along.
      const positive = tf.greater(xs, 0);
      const reference = tf.where(positive, g, g.mul(a));
      const referenceAlpha = tf
        .where(positive, tf.zerosLike(g), g.mul(xs))
        .sum(axes as number[])
        .reshape(a.shape);
      return [ours, oursAlpha, reference, referenceAlpha];
    });
    expectClose(gx, dx, 1e-6, 'dx');
    expectClose(galpha, dalpha, 1e-6, 'dalpha');
  });
});

type Pad = 'same' | 'valid';
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

describe('conv2d gradients', () => {
  // [x shape, output channels]: odd and non-square sizes, batch > 1, Cin < Cout and Cin > Cout.
  const shapes: Array<[number[], number]> = [
    [[2, 11, 13, 3], 4],
    [[3, 10, 9, 5], 2],
  ];
  const cases: Array<[number, number, Pad, number[], number]> = [];
  for (const k of [1, 3, 5, 9]) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        for (const [shape, cout] of shapes) cases.push([k, stride, pad, shape, cout]);
      }
    }
  }

  it.each(cases)('k=%i stride=%i %s x=%j cout=%i', async (k, stride, pad, shape, cout) => {
    await expectWasmMatchesCpu(
      [randomInput(shape, 1), randomInput([k, k, shape[3], cout], 2)],
      withGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad)),
    );
  });

  const oddStrides: Array<[[number, number], [number, number], Pad | number | ExplicitPadding]> = [
    [[3, 3], [2, 3], 'same'],
    [[3, 2], [3, 1], 'valid'],
    [[4, 4], [2, 2], 'same'],
    [[3, 3], [1, 1], 2],
    [
      [3, 5],
      [2, 2],
      [
        [0, 0],
        [1, 2],
        [0, 3],
        [0, 0],
      ],
    ],
  ];
  it.each(oddStrides)('filter %j strides %j pad %j', async (filter, strides, pad) => {
    await expectWasmMatchesCpu(
      [randomInput([2, 9, 12, 3], 3), randomInput([...filter, 3, 4], 4)],
      withGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad)),
    );
  });

  // Stride 1 has two ways to compute the filter gradient; the kernel picks one by channel counts, so
  // both are checked here on the same cases, including explicit padding that must be cropped.
  const orientationCases: Array<[number[], number[], Pad | ExplicitPadding]> = [
    [[2, 9, 7, 5], [3, 3, 5, 2], 'same'],
    [[2, 9, 7, 5], [5, 4, 5, 6], 'valid'],
    [[1, 8, 8, 3], [9, 9, 3, 1], 'same'],
    [
      [2, 7, 9, 4],
      [3, 5, 4, 3],
      [
        [0, 0],
        [4, 1],
        [0, 5],
        [0, 0],
      ],
    ],
  ];
  it.each(orientationCases)('filter gradient both ways round: x=%j filter=%j pad %j', async (xShape, wShape, pad) => {
    const inputs = [randomInput(xShape, 14), randomInput(wShape, 15)];
    const dyOf = (x: tf.Tensor, w: tf.Tensor) => randomInput(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, pad).shape, 16);
    const [expected] = await runOn('cpu', inputs, (x, w) => {
      const dy = dyOf(x, w);
      return tf.grad((f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, pad))(w, tf.tensor(dy.values, dy.shape));
    });
    for (const orientation of ['x-as-input', 'dy-as-input'] as const) {
      const [actual] = await runOn('wasm', inputs, (x, w) => {
        const dySpec = dyOf(x, w);
        const dy = tf.tensor4d(dySpec.values, dySpec.shape as [number, number, number, number]);
        const info = tf.backend_util.computeConv2DInfo(
          x.shape as [number, number, number, number],
          w.shape as [number, number, number, number],
          1,
          1,
          pad,
        );
        const { rows, cols } = convAxes(info, dy.shape[1], dy.shape[2]);
        return filterGradientNHWC(x as tf.Tensor4D, dy, rows, cols, orientation);
      });
      expectClose(actual, expected, 1e-4, orientation);
    }
  });

  // NCHW never reaches these kernels from a wasm forward pass (wasm's Conv2D is NHWC only), but the
  // kernels accept it, so it is checked by calling them directly.
  it.each([1, 2])('NCHW through the kernels directly, stride %i', async (stride) => {
    const attrs = { strides: stride, pad: 'same', dataFormat: 'NCHW' };
    const xShape = [2, 3, 9, 8];
    const outH = Math.ceil(9 / stride);
    const outW = Math.ceil(8 / stride);
    await expectWasmMatchesCpu([randomInput(xShape, 5), randomInput([2, 4, outH, outW], 6), randomInput([3, 3, 3, 4], 7)], (x, dy, w) => [
      tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: xShape }) as tf.Tensor,
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
    ]);
  });

  it.each([1, 2])('fused conv2d with bias and relu, stride %i', async (stride) => {
    await expectWasmMatchesCpu(
      [randomInput([2, 10, 7, 3], 8), randomInput([3, 3, 3, 5], 9), randomInput([5], 10)],
      withGradients((x, w, b) =>
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, strides: stride, pad: 'same', activation: 'relu' }),
      ),
    );
  });

  it('linear fused conv2d, as tf.layers uses it', async () => {
    await expectWasmMatchesCpu(
      [randomInput([2, 8, 8, 4], 11), randomInput([5, 5, 4, 6], 12), randomInput([6], 13)],
      withGradients((x, w, b) =>
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, strides: 1, pad: 'same', activation: 'linear' }),
      ),
    );
  });
});

describe('activations, normalisation, pooling, dense', () => {
  const x4 = randomInput([2, 5, 6, 4], 20);

  it('PReLU with per-channel alpha', async () => {
    await expectWasmMatchesCpu(
      [x4, randomInput([4], 21, 0.3)],
      withGradients((x, alpha) => tf.prelu(x, alpha)),
    );
  });

  it('LeakyReLU 0.2', async () => {
    await expectWasmMatchesCpu(
      [x4],
      withGradients((x) => tf.leakyRelu(x, 0.2)),
    );
  });

  it.each([
    ['relu', (x: tf.Tensor) => tf.relu(x)],
    ['tanh', (x: tf.Tensor) => tf.tanh(x)],
    ['sigmoid', (x: tf.Tensor) => tf.sigmoid(x)],
  ])('%s', async (_name, f) => {
    await expectWasmMatchesCpu([x4], withGradients(f));
  });

  it('batch normalisation in training (statistics of the batch, gradient through them)', async () => {
    await expectWasmMatchesCpu(
      [randomInput([3, 4, 5, 6], 22, 2), randomInput([6], 23), randomInput([6], 24)],
      withGradients((x, gamma, beta) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
      }),
    );
  });

  it('batch normalisation in inference (fixed statistics)', async () => {
    await expectWasmMatchesCpu(
      [x4, randomInput([4], 25), randomInput([4], 26, 0.5), randomInput([4], 27), randomInput([4], 28)],
      withGradients((x, mean, varianceRaw, gamma, beta) => tf.batchNorm(x, mean, tf.add(tf.abs(varianceRaw), 0.1), beta, gamma, 1e-3)),
    );
  });

  it('tf.layers batchNormalization in training mode', async () => {
    await expectWasmMatchesCpu(
      [randomInput([4, 3, 3, 5], 29, 3)],
      withGradients((x) => {
        const bn = tf.layers.batchNormalization({ gammaInitializer: 'ones', betaInitializer: 'zeros' });
        const y = bn.apply(x, { training: true }) as tf.Tensor;
        bn.dispose();
        return y;
      }),
    );
  });

  it.each([
    ['valid', [2, 6, 8, 3]],
    ['valid', [1, 7, 5, 2]],
    ['same', [2, 7, 5, 3]],
  ] as Array<[Pad, number[]]>)('max pooling 2x2 stride 2, %s, x=%j', async (pad, shape) => {
    await expectWasmMatchesCpu(
      [randomInput(shape, 30)],
      withGradients((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, pad)),
    );
  });

  it("max pooling gradient with ties, zeros and all-negative windows (wasm's own kernel gets these wrong)", async () => {
    const small = randomInput([2, 6, 6, 3], 38);
    const integers = { shape: small.shape, values: small.values.map((v) => Math.round(3 * v)) };
    await expectWasmMatchesCpu(
      [integers],
      withGradients((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid')),
    );
    await expectWasmMatchesCpu(
      [integers],
      withGradients((x) => tf.maxPool(tf.relu(x) as tf.Tensor4D, 2, 2, 'same')),
    );
    await expectWasmMatchesCpu(
      [integers],
      withGradients((x) => tf.maxPool(tf.neg(tf.abs(x)) as tf.Tensor4D, 3, 2, 'same')),
    );
  });

  it('max pooling 3x3 stride 1 same (overlapping windows)', async () => {
    await expectWasmMatchesCpu(
      [randomInput([2, 6, 5, 2], 31)],
      withGradients((x) => tf.maxPool(x as tf.Tensor4D, 3, 1, 'same')),
    );
  });

  it('dense (fused matMul with bias, and a linear one)', async () => {
    await expectWasmMatchesCpu(
      [randomInput([3, 20], 32), randomInput([20, 7], 33), randomInput([7], 34)],
      withGradients((a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' })),
    );
    await expectWasmMatchesCpu(
      [randomInput([3, 20], 35), randomInput([20, 7], 36)],
      withGradients((a, b) => tf.matMul(a, b)),
    );
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('matMul transposeA=%s transposeB=%s, 2-D, batched and broadcast batch', async (ta, tb) => {
    const shapeA = (batch: number[]) => [...batch, ...(ta ? [20, 3] : [3, 20])];
    const shapeB = (batch: number[]) => [...batch, ...(tb ? [7, 20] : [20, 7])];
    for (const [batchA, batchB] of [
      [[], []],
      [[2], [2]],
    ]) {
      await expectWasmMatchesCpu(
        [randomInput(shapeA(batchA), 36), randomInput(shapeB(batchB), 37)],
        withGradients((a, b) => tf.matMul(a, b, ta, tb)),
      );
    }
    // Broadcast batches: forward only, tfjs's BatchMatMul gradient does not reduce broadcast axes.
    await expectWasmMatchesCpu([randomInput(shapeA([1]), 38), randomInput(shapeB([3]), 39)], (a, b) => tf.matMul(a, b, ta, tb));
  });

  it('elementwise add with broadcasting', async () => {
    await expectWasmMatchesCpu(
      [x4, randomInput([1, 1, 6, 4], 37)],
      withGradients((a, b) => tf.add(a, b)),
    );
  });
});

describe('losses', () => {
  const pred = randomInput([4, 3, 3, 2], 40);
  const target = randomInput([4, 3, 3, 2], 41);

  it('mean squared error', async () => {
    await expectWasmMatchesCpu(
      [pred, target],
      withGradients((p, t) => tf.losses.meanSquaredError(t, p)),
    );
  });

  it('L1 (mean absolute difference)', async () => {
    await expectWasmMatchesCpu(
      [pred, target],
      withGradients((p, t) => tf.losses.absoluteDifference(t, p)),
    );
  });

  it('sigmoid cross-entropy on logits, real and fake labels', async () => {
    const logits = randomInput([6, 1], 42, 4);
    await expectWasmMatchesCpu(
      [logits],
      withGradients((z) => tf.losses.sigmoidCrossEntropy(tf.onesLike(z), z)),
    );
    await expectWasmMatchesCpu(
      [logits],
      withGradients((z) => tf.losses.sigmoidCrossEntropy(tf.zerosLike(z), z)),
    );
  });
});

describe('depthToSpace', () => {
  /** TensorFlow's DCR order: out[b, h*bs+i, w*bs+j, c] = in[b, h, w, (i*bs + j)*C + c]. */
  function referenceNHWC(x: Float32Array, [n, h, w, depth]: number[], bs: number): Float32Array {
    const c = depth / (bs * bs);
    const out = new Float32Array(x.length);
    for (let b = 0; b < n; b++)
      for (let y = 0; y < h * bs; y++)
        for (let xx = 0; xx < w * bs; xx++)
          for (let ch = 0; ch < c; ch++) {
            const i = y % bs;
            const j = xx % bs;
            const src = ((b * h + Math.floor(y / bs)) * w + Math.floor(xx / bs)) * depth + (i * bs + j) * c + ch;
            out[((b * h * bs + y) * w * bs + xx) * c + ch] = x[src];
          }
    return out;
  }

  it.each([
    [[2, 3, 4, 8], 2],
    [[1, 2, 3, 18], 3],
  ])('NHWC x=%j block %i: forward against the DCR formula and cpu, gradient against cpu', async (shape, bs) => {
    const x = randomInput(shape, 50);
    const [y] = await expectWasmMatchesCpu(
      [x],
      withGradients((t) => tf.depthToSpace(t as tf.Tensor4D, bs)),
    );
    expect(Array.from(y.values)).toEqual(Array.from(referenceNHWC(x.values, shape, bs)));
  });

  it('NCHW matches NHWC transposed, forward and gradient (cpu has no NCHW kernel)', async () => {
    const x = randomInput([2, 8, 3, 4], 51);
    const [viaNchw] = await runOn('wasm', [x], (t) => tf.transpose(tf.depthToSpace(t as tf.Tensor4D, 2, 'NCHW'), [0, 2, 3, 1]));
    const [viaNhwc] = await runOn('wasm', [x], (t) => tf.depthToSpace(tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D, 2));
    expectClose(viaNchw, viaNhwc, 0);
    const dy = randomInput([2, 2, 6, 8], 52);
    const [gradNchw] = await runOn('wasm', [x, dy], (t, d) =>
      tf.grad((v: tf.Tensor) => tf.depthToSpace(v as tf.Tensor4D, 2, 'NCHW'))(t, d),
    );
    const [gradNhwc] = await runOn('wasm', [x, dy], (t, d) =>
      tf.transpose(
        tf.grad((v: tf.Tensor) => tf.depthToSpace(v as tf.Tensor4D, 2))(tf.transpose(t, [0, 2, 3, 1]), tf.transpose(d, [0, 2, 3, 1])),
        [0, 3, 1, 2],
      ),
    );
    expectClose(gradNchw, gradNhwc, 0);
  });
});

describe('tile', () => {
  const cases: Array<[number[], number[]]> = [
    [
      [2, 3],
      [2, 2],
    ],
    [
      [1, 1, 1, 4],
      [3, 2, 5, 1],
    ],
    [
      [2, 3, 1],
      [1, 1, 1],
    ],
    [
      [2, 1, 3, 1, 2],
      [2, 3, 2, 2, 3],
    ],
    [
      [0, 3],
      [2, 1],
    ],
  ];
  it.each(cases)('x=%j reps=%j in float32, int32 and bool', async (shape, reps) => {
    const x = randomInput(shape, 60, 5);
    await expectWasmMatchesCpu([x], (t) => tf.tile(t, reps), 0);
    await expectWasmMatchesCpu([x], (t) => tf.tile(tf.cast(t, 'int32'), reps), 0);
    await expectWasmMatchesCpu([x], (t) => tf.tile(tf.greater(t, 0), reps), 0);
  });

  it('gradient', async () => {
    await expectWasmMatchesCpu(
      [randomInput([2, 1, 3], 61)],
      withGradients((t) => tf.tile(t, [2, 4, 1])),
    );
  });
});

describe('index arithmetic', () => {
  it('matMulPlan transposes the smaller operands', () => {
    // dW = x^T dy for x [16, 18432], dy [16, 1024]: transposing x (295k) beats dy plus the 18.9M result.
    expect(matMulPlan(16 * 18432, 16 * 1024, 18432 * 1024, true, false)).toBe('direct');
    // dx = dy W^T: transposing dy and the [16, 18432] result beats transposing W (18.9M).
    expect(matMulPlan(16 * 1024, 18432 * 1024, 16 * 18432, false, true)).toBe('swapped');
    // A^T B^T = (B A)^T: only the result is transposed.
    expect(matMulPlan(100, 100, 4, true, true)).toBe('swapped');
  });

  it('tilePlan collapses a tile to the lowest-rank broadcast', () => {
    expect(tilePlan([1, 1, 1, 64], [16, 24, 24, 1])).toEqual({ xShape: [1, 64], onesShape: [16 * 24 * 24, 1] });
    expect(tilePlan([2, 3], [2, 2])).toEqual({ xShape: [1, 2, 1, 3], onesShape: [2, 1, 2, 1] });
    expect(tilePlan([2, 3], [1, 1])).toEqual({ xShape: [6], onesShape: [1] });
    expect(splitReps([2, 3, 1, 2])).toEqual([
      [2, 3, 1, 1],
      [1, 1, 1, 2],
    ]);
  });

  it('the polyphase input gradient is the flipped filter for stride 1, and splits taps by phase for stride 2', () => {
    const stride1 = { inSize: 7, filterSize: 3, stride: 1, outSize: 7, padBefore: 1 };
    const p1 = polyphaseAxis(stride1);
    expect(p1).toMatchObject({ phases: 1, taps: 3, phaseLength: 7, padding: { before: 1, after: 1 } });
    expect([0, 1, 2].map((t) => polyphaseFilterIndex(stride1, p1, 0, t))).toEqual([2, 1, 0]);
    // 'same', k=3, s=2 on 8: dy has 4 elements, no padding before; even outputs use taps 2 and 0, odd ones tap 1.
    const stride2 = { inSize: 8, filterSize: 3, stride: 2, outSize: 4, padBefore: 0 };
    const p2 = polyphaseAxis(stride2);
    expect(p2).toMatchObject({ phases: 2, taps: 2, phaseLength: 4 });
    expect([0, 1].map((t) => polyphaseFilterIndex(stride2, p2, 0, t))).toEqual([2, 0]);
    expect([0, 1].map((t) => polyphaseFilterIndex(stride2, p2, 1, t))).toEqual([-1, 1]);
  });
});
