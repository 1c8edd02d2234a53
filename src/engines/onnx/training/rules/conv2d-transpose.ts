/**
 * Conv2DTranspose (FSRCNN's deconvolution): tfjs computes it as the input gradient of a forward
 * convolution G from the output's size to the input's, with the layer's kernel [kh, kw, filters, in]
 * read as G's HWIO kernel. So y = act(G^T x + b), and the backward reuses Conv2D's rules on G:
 * dx = G dz (a forward Conv), and dK is G's filter gradient with dz as G's input and x as the
 * gradient of its output.
 */
import type { Value } from '../builder';
import { activate, activationGrad, activationKind, type ActivationKind } from './activation';
import { convGeometry, filterGradient, inputGradient } from './conv2d';
import { attr } from '../builder';
import { layerConfig, pair, type LayerRule } from './rule';

interface TransposeConfig {
  strides: number | number[];
  padding: 'same' | 'valid';
  dilationRate: number | number[];
  activation: string;
}

interface Saved {
  geometry: ReturnType<typeof convGeometry>;
  activation: ActivationKind;
  oihw: Value;
  z: Value;
}

export const conv2dTransposeRule: LayerRule = {
  classNames: ['Conv2DTranspose'],
  unsupported: (layer) =>
    pair(layerConfig<TransposeConfig>(layer).dilationRate).some((d) => d !== 1) ? 'Conv2DTranspose with dilation' : undefined,
  forward({ b, layer, name, inputs, weights }) {
    const c = layerConfig<TransposeConfig>(layer);
    const padding = c.padding ?? 'valid';
    const strides = pair(c.strides);
    const activation = activationKind(c.activation, name);
    const x = inputs[0];
    const [kh, kw, filters] = weights[0].shape;
    // tfjs's output size: in * s ('same'), in * s + max(k - s, 0) ('valid').
    const outSize = [0, 1].map((a) => x.shape[2 + a] * strides[a] + (padding === 'valid' ? Math.max([kh, kw][a] - strides[a], 0) : 0)) as [
      number,
      number,
    ];
    const g = convGeometry(outSize, [kh, kw], strides, padding);
    // G's OIHW ([in, filters, kh, kw]) is also ConvTranspose's [C_in, C_out, kh, kw].
    const oihw = b.transpose(weights[0], [3, 2, 0, 1], `${name}/w_oihw`);
    const shape = [x.shape[0], filters, outSize[0], outSize[1]];
    let z = inputGradient(b, x, weights[0], oihw, { name: '', shape }, g, name);
    if (weights.length > 1) z = b.add(z, b.reshape(weights[1], [1, filters, 1, 1], `${name}/bias4`), `${name}/biased`);
    const saved: Saved = { geometry: g, activation, oihw, z };
    return { output: activate(b, activation, z, name), saved };
  },
  backward({ b, name, inputs, weights, output, dy, saved, needInputs, needWeights }) {
    const { geometry, activation, oihw, z } = saved as Saved;
    const x = inputs[0];
    const dz = activationGrad(b, activation, z, output, dy, name);
    const grads: (Value | undefined)[] = [needWeights[0] ? filterGradient(b, dz, x, geometry, `${name}/g`) : undefined];
    if (weights.length > 1) grads.push(needWeights[1] ? b.reduceSum(dz, [0, 2, 3], `${name}/db`, false) : undefined);
    const dx = needInputs[0]
      ? b.op('Conv', [dz, oihw], x.shape, `${name}/dx`, [
          attr.ints('kernel_shape', geometry.kernel),
          attr.ints('strides', geometry.strides),
          attr.ints('pads', geometry.pads),
        ])
      : undefined;
    return { inputs: [dx], weights: grads };
  },
};
