/**
 * PReLU with one slope per channel (tfjs sharedAxes [1, 2]: alpha is [1, 1, C]):
 * y = x where x > 0, else alpha * x. Backward as tfjs's kernel: dx = dy where x > 0, else
 * alpha * dy; dalpha = the sum over batch and space of dy * x where x <= 0.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Value } from '../builder';
import type { LayerRule } from './rule';

/** A PReLU whose slopes are not one per channel (tfjs's alpha [1, 1, C]) has no rule. */
function unsupportedPrelu(layer: tf.layers.Layer): string | undefined {
  const alpha = layer.weights[0]?.shape ?? [];
  const channels = (layer.input as tf.SymbolicTensor).shape.at(-1);
  const [h, w, c] = alpha;
  if (alpha.length === 3 && h === 1 && w === 1 && c === channels) return undefined;
  return `PReLU with alpha [${alpha.join(', ')}]; only one slope per channel`;
}

export const preluRule: LayerRule = {
  classNames: ['PReLU'],
  unsupported: unsupportedPrelu,
  forward({ b, name, inputs, weights }) {
    const x = inputs[0];
    const c = x.shape[1];
    const slope = b.reshape(weights[0], [c, 1, 1], `${name}/slope`);
    return { output: b.op('PRelu', [x, slope], x.shape, `${name}/prelu`), saved: slope };
  },
  backward({ b, name, inputs, dy, saved, needInputs, needWeights }) {
    const x = inputs[0];
    const slope = saved as Value;
    const zero = b.scalar(0);
    const positive = b.op('Greater', [x, zero], x.shape, `${name}/mask`);
    const dx = needInputs[0] ? b.op('Where', [positive, dy, b.mul(dy, slope, `${name}/dy_alpha`)], x.shape, `${name}/dx`) : undefined;
    let dAlpha: Value | undefined;
    if (needWeights[0]) {
      const negativePart = b.op('Where', [positive, zero, b.mul(dy, x, `${name}/dy_x`)], x.shape, `${name}/dy_x_neg`);
      dAlpha = b.reshape(b.reduceSum(negativePart, [0, 2, 3], `${name}/dalpha_sum`, false), [1, 1, x.shape[1]], `${name}/dalpha`);
    }
    return { inputs: [dx], weights: [dAlpha] };
  },
};
