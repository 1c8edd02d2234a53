/**
 * Training on wasm with the fast kernels: tf.layers models learn, memory stays flat across steps, and a
 * miniature SRGAN step (generator through a frozen VGG-like net and a discriminator) has the same
 * gradients as on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { expectWasmMatchesCpu, initBackends, randomInput } from './kernels.helpers';

beforeAll(initBackends);
beforeEach(() => tf.setBackend('wasm'));

/**
 * conv (linear, so tf.layers runs it through tf.fused.conv2d) + relu + conv, as in SRCNN. Seeded: with
 * tfjs's unseeded initialisers, some draws fitted more slowly than the assertion below allows.
 */
function tinyConvNet(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 8,
        kernelSize: 5,
        padding: 'same',
        activation: 'linear',
        kernelInitializer: init(1),
      }),
      tf.layers.reLU(),
      tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', kernelInitializer: init(2) }),
    ],
  });
}

/** A target the net can fit: a fixed blur of the input. */
function blurTask(): { x: tf.Tensor4D; y: tf.Tensor4D } {
  return tf.tidy(() => {
    const x = tf.randomUniform([8, 12, 12, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const kernel = tf.fill([3, 3, 1, 1], 1 / 9) as tf.Tensor4D;
    return { x, y: tf.conv2d(x, kernel, 1, 'same') };
  });
}

describe('training on wasm', () => {
  it('model.fit lowers the loss of a conv(linear) + relu + conv model', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const model = tinyConvNet();
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const { x, y } = blurTask();
    const history = await model.fit(x, y, { epochs: 30, batchSize: 8, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(0.3 * losses[0]);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('optimizer.minimize steps lower the loss and leave the tensor count unchanged', () => {
    const model = tinyConvNet();
    const optimizer = tf.train.adam(0.01);
    const { x, y } = blurTask();
    const step = (): number => {
      const loss = optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar, true);
      const value = loss!.dataSync()[0];
      loss!.dispose();
      return value;
    };
    const first = step(); // creates the optimizer's slots
    const tensorsAfterFirst = tf.memory().numTensors;
    const buffersAfterFirst = tf.engine().backend.numDataIds();
    let last = first;
    for (let i = 0; i < 20; i++) {
      last = step();
      expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
      expect(tf.engine().backend.numDataIds()).toBe(buffersAfterFirst);
    }
    expect(last).toBeLessThan(0.5 * first);
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });
});

/**
 * A miniature SRGAN generator step written with ops: the generator (conv, PReLU, a residual block with
 * batch norm in training mode, pixel shuffle, tanh) is scored through a frozen VGG-like feature net
 * (conv, relu, max pool) and a discriminator (strided conv, LeakyReLU 0.2, batch norm, dense, sigmoid
 * cross-entropy), plus MSE and L1 pixel losses. Inputs: lr, hr, then the weights.
 */
const weightShapes: Record<string, number[]> = {
  g1: [3, 3, 3, 8],
  g1b: [8],
  alpha1: [8],
  r1: [3, 3, 8, 8],
  bnG: [8],
  bnB: [8],
  alpha2: [8],
  r2: [3, 3, 8, 8],
  up: [3, 3, 8, 32],
  alpha3: [8],
  out: [5, 5, 8, 3],
  v1: [3, 3, 3, 4],
  v2: [3, 3, 4, 4],
  d1: [3, 3, 3, 4],
  d2: [3, 3, 4, 8],
  dbnG: [8],
  dbnB: [8],
  dense: [4 * 4 * 8, 1],
};
const names = Object.keys(weightShapes);

function batchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3) as tf.Tensor4D;
}

function generatorLoss(lr: tf.Tensor4D, hr: tf.Tensor4D, w: Record<string, tf.Tensor>): tf.Scalar {
  const c = (x: tf.Tensor4D, name: string, stride = 1): tf.Tensor4D => tf.conv2d(x, w[name] as tf.Tensor4D, stride, 'same');
  // Generator, lr [2,4,4,3] -> sr [2,8,8,3].
  const head = tf.prelu(
    tf.fused.conv2d({ x: lr, filter: w.g1 as tf.Tensor4D, bias: w.g1b, pad: 'same', strides: 1 }),
    w.alpha1,
  ) as tf.Tensor4D;
  const res = batchNormTraining(c(tf.prelu(batchNormTraining(c(head, 'r1'), w.bnG, w.bnB), w.alpha2) as tf.Tensor4D, 'r2'), w.bnG, w.bnB);
  const body = tf.add(head, res) as tf.Tensor4D;
  const upsampled = tf.prelu(tf.depthToSpace(c(body, 'up'), 2), w.alpha3) as tf.Tensor4D;
  const sr = tf.tanh(c(upsampled, 'out')) as tf.Tensor4D;
  // Frozen feature net: its weights are inputs too, but the gradient we check flows through it to G.
  const features = (x: tf.Tensor4D): tf.Tensor4D => tf.relu(c(tf.maxPool(tf.relu(c(x, 'v1')), 2, 2, 'valid'), 'v2'));
  const content = tf.losses.meanSquaredError(features(hr), features(sr));
  // Discriminator on sr [2,8,8,3] -> [2,4,4,8] -> logits [2,1].
  const d = batchNormTraining(c(tf.leakyRelu(c(sr, 'd1'), 0.2), 'd2', 2), w.dbnG, w.dbnB);
  const logits = tf.matMul(tf.reshape(tf.leakyRelu(d, 0.2), [2, -1]), w.dense);
  const adversarial = tf.losses.sigmoidCrossEntropy(tf.onesLike(logits), logits);
  const pixel = tf.add(tf.losses.meanSquaredError(hr, sr), tf.losses.absoluteDifference(hr, sr));
  return tf.addN([content, tf.mul(adversarial, 1e-2), pixel]) as tf.Scalar;
}

describe('a miniature SRGAN generator step', () => {
  it('has the same loss and gradients (generator, VGG and discriminator weights) on wasm as on cpu', async () => {
    const inputs = [
      randomInput([2, 4, 4, 3], 100),
      randomInput([2, 8, 8, 3], 101),
      ...names.map((name, i) => randomInput(weightShapes[name], 200 + i, 0.5)),
    ];
    await expectWasmMatchesCpu(inputs, (lr, hr, ...weights) => {
      const byName = (ws: tf.Tensor[]): Record<string, tf.Tensor> => Object.fromEntries(names.map((n, i) => [n, ws[i]]));
      const loss = (...ws: tf.Tensor[]): tf.Scalar => generatorLoss(lr as tf.Tensor4D, hr as tf.Tensor4D, byName(ws));
      return [loss(...weights), ...tf.grads(loss)(weights)];
    });
  });
});
