/**
 * Elementwise activations, forward and backward, shared by the layers that apply them on their own
 * output (Conv2D, Dense) and by Activation, ReLU and LeakyReLU layers. Gradients are taken from the
 * activation's output where that determines them (ReLU, tanh, sigmoid), so the pre-activation value
 * need not be kept.
 */
import { SrError } from '../../../../core/errors';
import { attr, type GraphBuilder, type Value } from '../builder';
import type { LayerRule } from './rule';
import { layerConfig } from './rule';

export type ActivationKind = 'linear' | 'relu' | 'tanh' | 'sigmoid' | { leaky: number };

const KINDS = ['linear', 'relu', 'tanh', 'sigmoid'] as const;

/** Why an activation setting (a layer's `activation`) has no rule, or undefined when it has one. */
export function unknownActivation(name: string | undefined): string | undefined {
  return name === undefined || (KINDS as readonly string[]).includes(name) ? undefined : `activation '${name}'`;
}

export function activationKind(name: string | undefined, where: string): ActivationKind {
  const problem = unknownActivation(name);
  if (problem) throw new SrError(`the onnx training engine has no rule for layer '${where}' (${problem})`);
  return (name ?? 'linear') as ActivationKind;
}

export function activate(b: GraphBuilder, kind: ActivationKind, x: Value, base: string): Value {
  if (kind === 'linear') return x;
  if (typeof kind === 'object') return b.op('LeakyRelu', [x], x.shape, `${base}/leaky_relu`, [attr.float('alpha', kind.leaky)]);
  const op = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' }[kind];
  return b.op(op, [x], x.shape, `${base}/${kind}`);
}

/**
 * The gradient through the activation, from its input x, its output y and the output's gradient dy.
 * ReLU passes dy where y > 0 (tfjs's step(x): 0 at x = 0); LeakyReLU where x > 0, else alpha * dy.
 */
export function activationGrad(b: GraphBuilder, kind: ActivationKind, x: Value, y: Value, dy: Value, base: string): Value {
  if (kind === 'linear') return dy;
  const zero = b.scalar(0);
  if (kind === 'relu') {
    const positive = b.op('Greater', [y, zero], y.shape, `${base}/relu_mask`);
    return b.op('Where', [positive, dy, zero], dy.shape, `${base}/relu_grad`);
  }
  if (kind === 'tanh') {
    const oneMinusSquare = b.sub(b.scalar(1), b.mul(y, y, `${base}/tanh_sq`), `${base}/tanh_d`);
    return b.mul(dy, oneMinusSquare, `${base}/tanh_grad`);
  }
  if (kind === 'sigmoid') {
    const slope = b.mul(y, b.sub(b.scalar(1), y, `${base}/sigmoid_1my`), `${base}/sigmoid_d`);
    return b.mul(dy, slope, `${base}/sigmoid_grad`);
  }
  const positive = b.op('Greater', [x, zero], x.shape, `${base}/leaky_mask`);
  return b.op('Where', [positive, dy, b.mul(dy, b.scalar(kind.leaky), `${base}/leaky_neg`)], dy.shape, `${base}/leaky_grad`);
}

interface ActivationConfig {
  activation: string;
  maxValue: number | null;
  alpha: number;
}

/** Activation, ReLU (without a cap) and LeakyReLU layers. */
export const activationRule: LayerRule = {
  classNames: ['Activation', 'ReLU', 'LeakyReLU'],
  unsupported: (layer) =>
    layer.getClassName() === 'ReLU' && layerConfig<ActivationConfig>(layer).maxValue != null ? 'ReLU with maxValue' : undefined,
  forward({ b, layer, name, inputs }) {
    const kind = layerKind(layer);
    return { output: activate(b, kind, inputs[0], name), saved: kind };
  },
  backward({ b, name, inputs, output, dy, saved }) {
    return { inputs: [activationGrad(b, saved as ActivationKind, inputs[0], output, dy, name)], weights: [] };
  },
};

function layerKind(layer: { name: string; getClassName(): string; getConfig(): unknown }): ActivationKind {
  const c = layerConfig<ActivationConfig>(layer as never);
  const className = layer.getClassName();
  if (className === 'LeakyReLU') return { leaky: c.alpha ?? 0.3 };
  if (className === 'ReLU') return 'relu';
  return activationKind(c.activation, layer.name);
}
