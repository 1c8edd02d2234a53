/**
 * Layers of a kind the onnx training engine serves, with a setting its rule does not write, are
 * named before any graph is built (so `--engine auto` trains them on tfjs), each with its reason.
 */
import * as tf from '@tensorflow/tfjs';
import { layersWithoutRule, ruleFor } from '../../../../src/engines/onnx/training';
import { useTestBackend } from '../../../helpers/env';

beforeAll(useTestBackend);

function oneLayer(layer: tf.layers.Layer, shape: number[] = [8, 8, 4]): tf.LayersModel {
  const input = tf.input({ shape });
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
}

it.each([
  ['dilated', tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, name: 'l' }), 'Conv2D with dilation'],
  ['elu conv', tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'elu', name: 'l' }), "activation 'elu'"],
  ['softplus dense', tf.layers.dense({ units: 2, activation: 'softplus', name: 'l' }), "activation 'softplus'"],
  ['capped relu', tf.layers.reLU({ maxValue: 6, name: 'l' }), 'ReLU with maxValue'],
  ['batch norm over height', tf.layers.batchNormalization({ axis: 1, name: 'l' }), 'BatchNormalization over axis 1'],
  ['batch norm without beta', tf.layers.batchNormalization({ center: false, name: 'l' }), 'BatchNormalization without center or scale'],
  ['per-pixel prelu', tf.layers.prelu({ name: 'l' }), 'PReLU with alpha [8, 8, 4]; only one slope per channel'],
  ['overlapping pool', tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'l' }), 'MaxPooling2D with overlapping windows'],
])('%s', (_, layer, reason) => {
  const model = oneLayer(layer);
  try {
    expect(layersWithoutRule(model)).toEqual([`'l' (${reason})`]);
    expect(() => ruleFor(model.getLayer('l'))).toThrow(`the onnx training engine has no rule for layer 'l' (${reason})`);
  } finally {
    model.dispose();
  }
});

it('passes the settings the shipped networks use', () => {
  const input = tf.input({ shape: [8, 8, 4] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.prelu({ sharedAxes: [1, 2] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 1, activation: 'sigmoid' }).apply(tf.layers.flatten().apply(x)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  try {
    expect(layersWithoutRule(model)).toEqual([]);
  } finally {
    model.dispose();
  }
});
