/**
 * Dense: y = act(x W + b) with W [in, out] as tfjs stores it. Backward with dz the gradient before
 * the activation: dW = x^T dz, db = the sum of dz over the batch, dx = dz W^T (Gemm's transpose
 * flags, so nothing is copied).
 */
import { attr } from '../builder';
import { activate, activationGrad, activationKind, type ActivationKind } from './activation';
import { layerConfig, type LayerRule } from './rule';
import type { Value } from '../builder';

interface Saved {
  activation: ActivationKind;
  z: Value;
}

export const denseRule: LayerRule = {
  classNames: ['Dense'],
  forward({ b, layer, name, inputs, weights }) {
    const activation = activationKind(layerConfig<{ activation: string }>(layer).activation, layer.name);
    const x = inputs[0];
    const units = weights[0].shape[1];
    const z = b.op('Gemm', weights.length > 1 ? [x, weights[0], weights[1]] : [x, weights[0]], [x.shape[0], units], `${name}/gemm`);
    const saved: Saved = { activation, z };
    return { output: activate(b, activation, z, name), saved };
  },
  backward({ b, name, inputs, weights, output, dy, saved, needInputs, needWeights }) {
    const { activation, z } = saved as Saved;
    const x = inputs[0];
    const dz = activationGrad(b, activation, z, output, dy, name);
    const grads: (Value | undefined)[] = [
      needWeights[0] ? b.op('Gemm', [x, dz], weights[0].shape, `${name}/dw`, [attr.int('transA', 1)]) : undefined,
    ];
    if (weights.length > 1) grads.push(needWeights[1] ? b.reduceSum(dz, [0], `${name}/db`, false) : undefined);
    const dx = needInputs[0] ? b.op('Gemm', [dz, weights[0]], x.shape, `${name}/dx`, [attr.int('transB', 1)]) : undefined;
    return { inputs: [dx], weights: grads };
  },
};
