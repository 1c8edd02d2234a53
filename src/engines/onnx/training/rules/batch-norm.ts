/**
 * BatchNormalization in training mode, as tfjs-layers computes it: the batch's mean and biased
 * variance over batch and space normalise x; the moving statistics move towards the same two
 * (moving -= (moving - batch) * (1 - momentum), the biased variance included).
 *
 * Backward, per channel over M = N*H*W values, with d = x - mean and r = 1/sqrt(var + eps):
 * dbeta = sum(dy), dgamma = r * sum(dy * d), and
 * dx = gamma * r * (dy - dbeta / M - d * r * dgamma / M), which is what differentiating through
 * tfjs's moments gives.
 */
import type * as tf from '@tensorflow/tfjs';
import { attr, type Value } from '../builder';
import { layerConfig, type LayerRule } from './rule';

interface BatchNormConfig {
  axis: number | number[];
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
}

interface Saved {
  d: Value;
  r: Value;
  epsilon: number;
}

/** The settings the rule does not write: normalising other than the channel (last) axis, or without both γ and β. */
function unsupportedBatchNorm(layer: tf.layers.Layer): string | undefined {
  const c = layerConfig<BatchNormConfig>(layer);
  const rank = (layer.input as tf.SymbolicTensor).shape.length;
  const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== rank - 1)) return `BatchNormalization over axis ${JSON.stringify(c.axis)}`;
  if (c.center === false || c.scale === false) return 'BatchNormalization without center or scale';
  return undefined;
}

function readConfig(layer: { getConfig(): unknown }): BatchNormConfig {
  const c = layerConfig<BatchNormConfig>(layer as never);
  return { axis: -1, momentum: c.momentum ?? 0.99, epsilon: c.epsilon ?? 1e-3, center: true, scale: true };
}

export const batchNormRule: LayerRule = {
  classNames: ['BatchNormalization'],
  unsupported: unsupportedBatchNorm,
  forward({ b, layer, name, inputs, weights }) {
    const x = inputs[0];
    const { momentum, epsilon } = readConfig(layer);
    const c = x.shape[1];
    const [gamma, beta, movingMean, movingVariance] = weights;
    const axes = x.shape.length === 4 ? [0, 2, 3] : [0];
    const mean4 = b.reduceMean(x, axes, `${name}/mean`);
    const d = b.sub(x, mean4, `${name}/centred`);
    const variance4 = b.reduceMean(b.mul(d, d, `${name}/sq`), axes, `${name}/var`);
    const mean = b.reshape(mean4, [c], `${name}/mean_c`);
    const variance = b.reshape(variance4, [c], `${name}/var_c`);
    const y = b.op('BatchNormalization', [x, gamma, beta, mean, variance], x.shape, `${name}/bn`, [attr.float('epsilon', epsilon)]);
    const r4 = b.op(
      'Reciprocal',
      [b.op('Sqrt', [b.add(variance4, b.scalar(epsilon), `${name}/var_eps`)], variance4.shape, `${name}/std`)],
      variance4.shape,
      `${name}/rstd`,
    );
    const decay = b.scalar(Math.fround(1 - momentum));
    const moved = (moving: Value, batch: Value, what: string) =>
      b.sub(moving, b.mul(b.sub(moving, batch, `${name}/${what}_delta`), decay, `${name}/${what}_step`), `${name}/${what}_new`);
    const updates = new Map<number, Value>([
      [2, moved(movingMean, mean, 'moving_mean')],
      [3, moved(movingVariance, variance, 'moving_var')],
    ]);
    const saved: Saved = { d, r: r4, epsilon };
    const statistics = [
      { index: 2, batch: mean, decay: momentum },
      { index: 3, batch: variance, decay: momentum },
    ].map((s) => ({ ...s, decay: Math.fround(1 - s.decay) }));
    return { output: y, updates, saved, statistics };
  },
  backward({ b, name, inputs, weights, dy, saved, needInputs, needWeights }) {
    const { d, r } = saved as Saved;
    const x = inputs[0];
    const c = x.shape[1];
    const axes = x.shape.length === 4 ? [0, 2, 3] : [0];
    const m = axes.reduce((n, a) => n * x.shape[a], 1);
    const stat = [1, c, ...x.shape.slice(2).map(() => 1)];
    const sumDy = b.reduceSum(dy, axes, `${name}/sum_dy`);
    const dGamma4 = b.mul(b.reduceSum(b.mul(dy, d, `${name}/dy_d`), axes, `${name}/sum_dy_d`), r, `${name}/dgamma4`);
    const grads: (Value | undefined)[] = [
      needWeights[0] ? b.reshape(dGamma4, [c], `${name}/dgamma`) : undefined,
      needWeights[1] ? b.reshape(sumDy, [c], `${name}/dbeta`) : undefined,
      undefined,
      undefined,
    ];
    if (!needInputs[0]) return { inputs: [undefined], weights: grads };
    const gamma4 = b.reshape(weights[0], stat, `${name}/gamma4`);
    const gr = b.mul(gamma4, r, `${name}/gamma_r`);
    const invM = b.scalar(1 / m);
    // dx = gr * dy - gr * (dbeta / M) - d * (gr * r * dgamma / M)
    const shift = b.mul(b.mul(gr, sumDy, `${name}/gr_sum`), invM, `${name}/shift`);
    const slope = b.mul(b.mul(b.mul(gr, r, `${name}/gr_r`), dGamma4, `${name}/gr_r_dg`), invM, `${name}/slope`);
    const main = b.sub(b.mul(dy, gr, `${name}/dy_gr`), shift, `${name}/dy_shift`);
    const dx = b.sub(main, b.mul(d, slope, `${name}/d_slope`), `${name}/dx`);
    return { inputs: [dx], weights: grads };
  },
};
