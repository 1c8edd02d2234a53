/**
 * MaxPooling2D (TensorFlow 'valid' or 'same' padding). Backward sends each output's gradient to
 * the input element MaxPool's Indices output names (the first maximum of its window, as tfjs's
 * kernel takes it), by a ScatterElements into zeros over the flattened input.
 */
import { attr, sizeOf, type Value } from '../builder';
import { convGeometry } from './conv2d';
import { layerConfig, pair, type LayerRule } from './rule';

interface PoolConfig {
  poolSize: number | number[];
  strides: number | number[] | null;
  padding: 'same' | 'valid';
  dataFormat: string;
}

function window(c: Partial<PoolConfig>): { kernel: [number, number]; strides: [number, number] } {
  const kernel = pair(c.poolSize, 2);
  return { kernel, strides: c.strides == null ? kernel : pair(c.strides) };
}

export const maxPoolRule: LayerRule = {
  classNames: ['MaxPooling2D'],
  unsupported(layer) {
    const c = layerConfig<PoolConfig>(layer);
    if (c.dataFormat && c.dataFormat !== 'channelsLast') return `MaxPooling2D ${c.dataFormat}`;
    const { kernel, strides } = window(c);
    // The backward pass scatters dy to the argmax indices; overlapping windows would repeat an
    // index, where ONNX's ScatterElements leaves the result undefined and tfjs sums.
    if (strides[0] < kernel[0] || strides[1] < kernel[1]) return 'MaxPooling2D with overlapping windows';
    return undefined;
  },
  forward({ b, layer, name, inputs }) {
    const c = layerConfig<PoolConfig>(layer);
    const { kernel, strides } = window(c);
    const x = inputs[0];
    const g = convGeometry([x.shape[2], x.shape[3]], kernel, strides, c.padding ?? 'valid');
    const shape = [x.shape[0], x.shape[1], g.outSize[0], g.outSize[1]];
    const output = b.unique(`${name}/pool`);
    const indices = b.unique(`${name}/indices`);
    b.nodes.push({
      opType: 'MaxPool',
      input: [x.name],
      output: [output, indices],
      name: output,
      attribute: [attr.ints('kernel_shape', kernel), attr.ints('strides', strides), attr.ints('pads', g.pads)],
    });
    return { output: { name: output, shape }, saved: indices };
  },
  backward({ b, name, inputs, dy, saved }) {
    const x = inputs[0];
    const count = sizeOf(x.shape);
    const flatIndices: Value = b.reshape({ name: saved as string, shape: dy.shape }, [1, sizeOf(dy.shape)], `${name}/indices_flat`);
    const zeros = b.op('ConstantOfShape', [b.int64s([1, count])], [1, count], `${name}/zeros`);
    const flatDy = b.reshape(dy, [1, sizeOf(dy.shape)], `${name}/dy_flat`);
    const scattered = b.op('ScatterElements', [zeros, flatIndices, flatDy], [1, count], `${name}/scatter`, [attr.int('axis', 1)]);
    return { inputs: [b.reshape(scattered, x.shape, `${name}/dx`)], weights: [] };
  },
};
