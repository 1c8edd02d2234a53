/**
 * Layers that only move values: SrDepthToSpace (TensorFlow's DCR order; SpaceToDepth is its
 * inverse, so it carries the gradient back), SrUpsampleNearest (each input pixel's gradient is the
 * sum of dy over its f x f cell) and Flatten (tfjs flattens NHWC, so the NCHW graph
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

export const upsampleNearestRule: LayerRule = {
  classNames: ['SrUpsampleNearest'],
  forward({ b, layer, name, inputs }) {
    const f = layerConfig<{ factor: number }>(layer).factor ?? 1;
    const [n, c, h, w] = inputs[0].shape;
    const scales = b.constant(`${name}/scales`, [1, 1, f, f], [4]);
    const output = b.op('Resize', [inputs[0], '', scales], [n, c, h * f, w * f], name, [
      attr.text('mode', 'nearest'),
      attr.text('coordinate_transformation_mode', 'asymmetric'),
      attr.text('nearest_mode', 'floor'),
    ]);
    return { output, saved: f };
  },
  backward({ b, name, inputs, dy, saved }) {
    const f = saved as number;
    const [n, c, h, w] = inputs[0].shape;
    // SpaceToDepth (DCR) puts the cell's f*f values of channel c at channels (dy * f + dx) * C + c.
    const cells = b.op('SpaceToDepth', [dy], [n, f * f * c, h, w], `${name}/cells`, [attr.int('blocksize', f)]);
    const split = b.reshape(cells, [n, f * f, c, h, w], `${name}/cells_split`);
    return { inputs: [b.reduceSum(split, [1], `${name}/dx`, false)], weights: [] };
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
