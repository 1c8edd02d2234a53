/**
 * Layers without weights that combine or map values elementwise: Add (the gradient goes to every
 * input unchanged) and SrScaleShift (y = x * scale + offset, so dx = dy * scale).
 */
import { layerConfig, type LayerRule } from './rule';

export const addRule: LayerRule = {
  classNames: ['Add'],
  forward({ b, name, inputs }) {
    let sum = inputs[0];
    inputs.slice(1).forEach((x, i) => (sum = b.add(sum, x, i === inputs.length - 2 ? name : `${name}/partial`)));
    return { output: sum };
  },
  backward({ inputs, dy }) {
    return { inputs: inputs.map(() => dy), weights: [] };
  },
};

export const scaleShiftRule: LayerRule = {
  classNames: ['SrScaleShift'],
  forward({ b, layer, name, inputs }) {
    const c = layerConfig<{ scale: number; offset: number }>(layer);
    const scaled = b.mul(inputs[0], b.scalar(c.scale ?? 1), `${name}/scale`);
    return { output: b.add(scaled, b.scalar(c.offset ?? 0), name), saved: c.scale ?? 1 };
  },
  backward({ b, name, dy, saved }) {
    return { inputs: [b.mul(dy, b.scalar(saved as number), `${name}/dx`)], weights: [] };
  },
};
