/**
 * Layers that only move values: SrDepthToSpace (TensorFlow's DCR order; SpaceToDepth is its
 * inverse, so it carries the gradient back) and Flatten (tfjs flattens NHWC, so the NCHW graph
 * transposes to NHWC first, and back on the way down).
 */
import { attr } from '../builder';
import { layerConfig, type LayerRule } from './rule';

export const depthToSpaceRule: LayerRule = {
  classNames: ['SrDepthToSpace'],
  forward({ b, layer, name, inputs }) {
    const k = layerConfig<{ blockSize: number }>(layer).blockSize ?? 1;
    const [n, c, h, w] = inputs[0].shape;
    const output = b.op('DepthToSpace', [inputs[0]], [n, c / (k * k), h * k, w * k], name, [
      attr.int('blocksize', k),
      attr.text('mode', 'DCR'),
    ]);
    return { output, saved: k };
  },
  backward({ b, name, inputs, dy, saved }) {
    return { inputs: [b.op('SpaceToDepth', [dy], inputs[0].shape, `${name}/dx`, [attr.int('blocksize', saved as number)])], weights: [] };
  },
};

export const flattenRule: LayerRule = {
  classNames: ['Flatten'],
  forward({ b, name, inputs }) {
    const x = inputs[0];
    if (x.shape.length !== 4) return { output: b.reshape(x, [x.shape[0], x.shape.slice(1).reduce((p, q) => p * q, 1)], name) };
    const nhwc = b.transpose(x, [0, 2, 3, 1], `${name}/nhwc`);
    return { output: b.reshape(nhwc, [x.shape[0], x.shape[1] * x.shape[2] * x.shape[3]], name) };
  },
  backward({ b, name, inputs, dy }) {
    const x = inputs[0];
    if (x.shape.length !== 4) return { inputs: [b.reshape(dy, x.shape, `${name}/dx`)], weights: [] };
    const [n, c, h, w] = x.shape;
    const nhwc = b.reshape(dy, [n, h, w, c], `${name}/dy_nhwc`);
    return { inputs: [b.transpose(nhwc, [0, 3, 1, 2], `${name}/dx`)], weights: [] };
  },
};
