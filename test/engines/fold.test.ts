import * as tf from '@tensorflow/tfjs';
import { FoldedNetwork } from '../../src/engines/fold';
import { getArchitecture } from '../../src/models';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

/** Gives every batch norm non-trivial statistics so folding has something to fold. */
function randomiseBatchNorms(model: tf.LayersModel): void {
  let seed = 1;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const weights = layer.getWeights().map((w, i) =>
      // gamma, beta, moving mean, moving variance (> 0)
      tf.randomUniform(w.shape, i === 3 ? 0.5 : -0.5, i === 3 ? 2 : 0.5, 'float32', seed++),
    );
    layer.setWeights(weights);
    tf.dispose(weights);
  }
}

test('SRResNet with batch norms folded into its convolutions predicts what the layers model predicts', () => {
  const model = getArchitecture('srresnet').build({ blocks: 2, width: 16 }, 4, 3);
  randomiseBatchNorms(model);
  const folded = FoldedNetwork.from(model);
  const x = tf.randomUniform([1, 12, 10, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const [a, b] = [model.predict(x) as tf.Tensor, folded.predict(x)];
  expect(b.shape).toEqual([1, 48, 40, 3]);
  const diff = tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);
  expect(diff).toBeLessThan(1e-4);
  tf.dispose([a, b]);
  expect(tf.memory().numTensors).toBe(before);
  // 25 layers besides the input; each conv+BN(+PReLU) chain is one step: head conv+PReLU, per block
  // conv+BN+PReLU, conv+BN and the add, body conv+BN, the long skip, per upsampler conv+shuffle+PReLU
  // (the PReLU moved before the shuffle), the tail conv (run before the last shuffle, which it then
  // applies) and the output mapping: 13 steps.
  expect(model.layers.length).toBe(26);
  expect(folded.stepCount).toBe(13);
  folded.dispose();
  model.dispose();
  x.dispose();
});

test('SRCNN (no batch norm, ReLU inside the convolutions) is unchanged by folding', () => {
  const model = getArchitecture('srcnn').build({ kernels: [9, 5, 5], widths: [8, 4], padding: 'valid' }, 3, 2);
  const folded = FoldedNetwork.from(model);
  const x = tf.randomUniform([1, 20, 21, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
  const diff = tf.tidy(() => tf.max(tf.abs((model.predict(x) as tf.Tensor).sub(folded.predict(x)))).dataSync()[0]);
  expect(diff).toBeLessThan(1e-6);
  folded.dispose();
  model.dispose();
  x.dispose();
});

test('memory while predicting does not grow with depth: each value is freed after its last use', async () => {
  const x = tf.randomUniform([1, 24, 24, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
  const peakFor = async (blocks: number) => {
    const model = getArchitecture('srresnet').build({ blocks, width: 16 }, 4, 3);
    const folded = FoldedNetwork.from(model);
    const before = tf.memory().numTensors;
    // The deeper network's own weights are not what is measured.
    const weightBytes = tf.memory().numBytes;
    let out: tf.Tensor | undefined;
    const info = await tf.profile(() => {
      out = folded.predict(x);
      return out;
    });
    out!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    folded.dispose();
    model.dispose();
    // The most memory held after any kernel (profile's peakBytes also counts kernels' scratch).
    return Math.max(...info.kernels.map((k) => k.totalBytesSnapshot)) - weightBytes;
  };
  const [shallow, deep] = [await peakFor(2), await peakFor(12)];
  // Kept to the end, 10 more blocks would add 20 steps' outputs of 24*24*16 floats (720 KiB).
  expect(deep).toBe(shallow);
  x.dispose();
});
