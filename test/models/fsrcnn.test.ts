/**
 * FSRCNN as the paper builds it (what the architecture contract cannot know): its layers, its
 * parameter count, PReLU per channel, seeded weights, and its packaged config. Output sizes and
 * engine agreement are the contract's (contract.test.ts).
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { getArchitecture } from '../../src/models';
import { parseConfig, readYaml, trainingConfigSchema } from '../../src/config';
import { PROJECT_ROOT, useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

const fsrcnn = getArchitecture('fsrcnn');

interface LayerView {
  name: string;
  kind: string;
  kernel?: number[];
  strides?: number | number[];
  sharedAxes?: number[];
}

function layersOf(model: tf.LayersModel): LayerView[] {
  return model.layers
    .filter((l) => l.getClassName() !== 'InputLayer')
    .map((l) => {
      const c = l.getConfig() as { strides?: number | number[]; sharedAxes?: number[] };
      const kernel = l.getClassName().startsWith('Conv') ? l.getWeights()[0].shape : undefined;
      return { name: l.name, kind: l.getClassName(), kernel, strides: c.strides, sharedAxes: c.sharedAxes };
    });
}

describe('FSRCNN(56, 12, 4)', () => {
  it('takes the LR Y channel and has the defaults d=56, s=12, m=4', () => {
    expect(fsrcnn.options.parse({})).toEqual({ d: 56, s: 12, m: 4 });
    expect(fsrcnn).toMatchObject({ inputSpace: 'y', inputIsUpsampled: false, scales: [2, 3, 4] });
  });

  it('is 5x5 d, 1x1 s, m 3x3 s, 1x1 d, each with a per-channel PReLU, then a 9x9 transposed convolution of stride scale', () => {
    const model = fsrcnn.build({}, 3, 1);
    const layers = layersOf(model);
    model.dispose();
    const convs = layers.filter((l) => l.kind === 'Conv2D').map((l) => l.kernel);
    expect(convs).toEqual([[5, 5, 1, 56], [1, 1, 56, 12], ...Array(4).fill([3, 3, 12, 12]), [1, 1, 12, 56]]);
    // Each convolution is followed by its PReLU, one slope per channel.
    layers.slice(0, -1).forEach((l, i) => expect(l.kind).toBe(i % 2 === 0 ? 'Conv2D' : 'PReLU'));
    for (const l of layers.filter((l) => l.kind === 'PReLU')) expect(l.sharedAxes).toEqual([1, 2]);
    // tfjs keeps a transposed kernel as [kh, kw, out, in].
    expect(layers[layers.length - 1]).toMatchObject({ kind: 'Conv2DTranspose', kernel: [9, 9, 1, 56], strides: [3, 3] });
  });

  it("has the paper's 12,464 convolution weights (biases and slopes aside)", () => {
    const model = fsrcnn.build({}, 2, 1);
    const kernels = model.layers.filter((l) => l.getClassName().startsWith('Conv')).map((l) => l.getWeights()[0].size);
    model.dispose();
    expect(kernels.reduce((a, b) => a + b, 0)).toBe(12464);
  });

  it('draws its initial weights from the seed', () => {
    const weights = (seed: number) => {
      const model = fsrcnn.build({ d: 8, s: 4, m: 1 }, 2, seed);
      const values = model.getWeights().map((w) => Array.from(w.dataSync()));
      model.dispose();
      return values;
    };
    expect(weights(5)).toEqual(weights(5));
    expect(weights(5)).not.toEqual(weights(6));
  });
});

it('configs/fsrcnn-x3.yaml is a valid training config for the paper network at x3', () => {
  const file = path.join(PROJECT_ROOT, 'configs', 'fsrcnn-x3.yaml');
  const config = parseConfig(trainingConfigSchema, readYaml(file), file);
  expect(config).toMatchObject({ model: 'fsrcnn', scale: 3, network: { d: 56, s: 12, m: 4 } });
});
