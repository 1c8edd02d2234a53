/**
 * A tf.LayersModel written into a training graph: its layers' forward rules in order, and a
 * backward pass that walks them in reverse, summing gradients where a value feeds several layers
 * (residual skips). Only values that depend on a trained weight get a gradient, so nothing is
 * computed for the network's input or for frozen networks (VGG19 of the content loss).
 */
import type * as tf from '@tensorflow/tfjs';
import { SrError } from '../../../core/errors';
import type { GraphBuilder, Value } from './builder';
import { ruleFor, type ForwardResult, type LayerRule } from './rules';

/** Where a layer weight comes from in the graph, and whether it is trained. */
export interface WeightSource {
  value: Value;
  trained: boolean;
}

export type WeightSources = (layer: tf.layers.Layer, index: number) => WeightSource;

interface LayerStep {
  layer: tf.layers.Layer;
  rule: LayerRule;
  inputs: Value[];
  inputKeys: string[];
  weights: Value[];
  result: ForwardResult;
  needInputs: boolean[];
  needWeights: boolean[];
  needsGrad: boolean;
}

export interface NetworkPass {
  output: Value;
  /** New values of non-trainable weights (moving statistics), with the layer and weight index. */
  updates: { layer: tf.layers.Layer; index: number; value: Value }[];
  /** The batch statistics behind them, to chain over several passes (see chainMovingAverages). */
  statistics: { layer: tf.layers.Layer; index: number; batch: Value; decay: number }[];
  /** Writes the backward pass for the output's gradient dy; returns the gradient of each trained weight (by its value name) and of the input, when asked. */
  backward(dy: Value, options?: { inputGrad?: boolean }): { weights: Map<string, Value>; input?: Value };
}

/** Names of the layers feeding `layer` through its first inbound node. */
function inboundNames(layer: tf.layers.Layer): string[] {
  const nodes = (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes;
  return nodes.length ? nodes[0].inboundLayers.map((l) => l.name) : [];
}

/**
 * Writes `model`'s forward pass on `input` (NCHW). `inputNeedsGrad` marks an input that depends on
 * trained weights elsewhere (a generator's output fed to the discriminator).
 */
export function forwardNetwork(
  b: GraphBuilder,
  model: tf.LayersModel,
  input: Value,
  weightSources: WeightSources,
  prefix: string,
  inputNeedsGrad = false,
): NetworkPass {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new SrError(`the onnx training engine needs a one-input, one-output network ('${model.name}')`);
  const inputLayer = model.inputs[0].sourceLayer.name;
  const values = new Map<string, { value: Value; needsGrad: boolean }>([[inputLayer, { value: input, needsGrad: inputNeedsGrad }]]);
  const steps: LayerStep[] = [];
  const updates: NetworkPass['updates'] = [];
  const statistics: NetworkPass['statistics'] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const rule = ruleFor(layer);
    const inputKeys = inboundNames(layer);
    const sources = inputKeys.map((n) => {
      const v = values.get(n);
      if (!v) throw new SrError(`layer '${layer.name}' reads '${n}', which no earlier layer computes`);
      return v;
    });
    const layerSources: WeightSource[] = layer.weights.map((_, i) => weightSources(layer, i));
    const weights = layerSources.map((w) => w.value);
    const name = `${prefix}${layer.name}`;
    const result = rule.forward({ b, layer, name, inputs: sources.map((s) => s.value), weights });
    for (const [index, value] of result.updates ?? []) updates.push({ layer, index, value });
    for (const s of result.statistics ?? []) statistics.push({ layer, ...s });
    const needInputs = sources.map((s) => s.needsGrad);
    const needWeights = layerSources.map((w) => w.trained);
    const needsGrad = needInputs.some(Boolean) || needWeights.some(Boolean);
    steps.push({ layer, rule, inputs: sources.map((s) => s.value), inputKeys, weights, result, needInputs, needWeights, needsGrad });
    values.set(layer.name, { value: result.output, needsGrad });
  }
  const outputLayer = model.outputs[0].sourceLayer.name;
  const output = values.get(outputLayer)?.value;
  if (!output) throw new SrError(`the output layer '${outputLayer}' of '${model.name}' is computed by no layer`);

  const backward: NetworkPass['backward'] = (dy, options = {}) => {
    const grads = new Map<string, Value>([[outputLayer, dy]]);
    const weightGrads = new Map<string, Value>();
    const accumulate = (key: string, g: Value) => {
      const known = grads.get(key);
      grads.set(key, known ? b.add(known, g, `${prefix}${key}/grad_sum`) : g);
    };
    for (const step of [...steps].reverse()) {
      const g = grads.get(step.layer.name);
      if (!g || !step.needsGrad) continue;
      const needInputs = step.needInputs.map((need, i) => need || (options.inputGrad === true && step.inputKeys[i] === inputLayer));
      const result = step.rule.backward({
        b,
        layer: step.layer,
        name: `${prefix}${step.layer.name}`,
        inputs: step.inputs,
        weights: step.weights,
        output: step.result.output,
        saved: step.result.saved,
        dy: g,
        needInputs,
        needWeights: step.needWeights,
      });
      result.inputs.forEach((dx, i) => {
        if (dx && needInputs[i]) accumulate(step.inputKeys[i], dx);
      });
      result.weights.forEach((dw, i) => {
        if (!dw || !step.needWeights[i]) return;
        const key = step.weights[i].name;
        const known = weightGrads.get(key);
        weightGrads.set(key, known ? b.add(known, dw, `${key}/grad_sum`) : dw);
      });
    }
    return { weights: weightGrads, input: grads.get(inputLayer) };
  };
  return { output, updates, statistics, backward };
}

/**
 * A moving statistic after several passes of a network in one step, each moving it towards its own
 * batch statistic in turn (moving -= (moving - batch) * decay), as tfjs-layers updates it on every
 * training-mode call.
 */
export function chainMovingAverages(b: GraphBuilder, moving: Value, batches: Value[], decay: number, base: string): Value {
  let m = moving;
  batches.forEach((batch, i) => {
    const delta = b.mul(b.sub(m, batch, `${base}/delta${i}`), b.scalar(decay), `${base}/step${i}`);
    m = b.sub(m, delta, `${base}/moved${i}`);
  });
  return m;
}
