/**
 * An inference-only version of a trained layers model: every convolution that feeds only a batch
 * normalisation has the normalisation folded into its weights, and a PReLU (or ReLU) that follows
 * only that convolution is fused into it, so each such chain becomes one `tf.fused.conv2d` call
 * (BN at inference is an affine map per channel: scale = gamma / sqrt(var + eps), shift = beta -
 * mean * scale, and conv(x, W) * s + b = conv(x, W * s) + b * s). Every other layer runs as it is.
 */
import * as tf from '@tensorflow/tfjs';

/** What the upscalers need from a network. */
export interface Network {
  predict(x: tf.Tensor4D): tf.Tensor | tf.Tensor[];
}

interface LayerConfig {
  strides?: number | number[];
  padding?: 'same' | 'valid';
  dilationRate?: number | number[];
  activation?: string;
  useBias?: boolean;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
}

type Step = (inputs: tf.Tensor[]) => tf.Tensor;

interface PlannedStep {
  name: string;
  inputs: string[];
  run: Step;
}

/** Names of the layers feeding `layer` (first inbound node: a model built once, used once). */
function inboundNames(layer: tf.layers.Layer): string[] {
  const nodes = (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes;
  return nodes.length ? nodes[0].inboundLayers.map((l) => l.name) : [];
}

function config(layer: tf.layers.Layer): LayerConfig {
  return layer.getConfig() as LayerConfig;
}

function pair(v: number | number[] | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Conv kernel and bias with an inference batch norm folded in. */
function foldBatchNorm(conv: tf.layers.Layer, bn: tf.layers.Layer): { kernel: tf.Tensor4D; bias: tf.Tensor1D } {
  return tf.tidy(() => {
    const convWeights = conv.getWeights();
    const kernel = convWeights[0] as tf.Tensor4D;
    const cout = kernel.shape[3];
    const bias = (config(conv).useBias === false ? tf.zeros([cout]) : convWeights[1]) as tf.Tensor1D;
    const bnConfig = config(bn);
    const w = bn.getWeights();
    let i = 0;
    const gamma = bnConfig.scale === false ? tf.ones([cout]) : w[i++];
    const beta = bnConfig.center === false ? tf.zeros([cout]) : w[i++];
    const mean = w[i++];
    const variance = w[i++];
    const scale = gamma.div(variance.add(bnConfig.epsilon ?? 1e-3).sqrt());
    return {
      kernel: kernel.mul(scale) as tf.Tensor4D,
      bias: bias.sub(mean).mul(scale).add(beta) as tf.Tensor1D,
    };
  });
}

type FusedActivation = 'linear' | 'relu' | 'prelu';

function convStep(conv: tf.layers.Layer, kernel: tf.Tensor4D, bias: tf.Tensor1D | undefined, activation: FusedActivation, alpha?: tf.Tensor): Step {
  const c = config(conv);
  const strides = pair(c.strides);
  const dilations = pair(c.dilationRate);
  return ([x]) =>
    tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: kernel,
      strides,
      pad: c.padding ?? 'valid',
      dilations,
      bias,
      activation,
      preluActivationWeights: alpha,
    });
}

export class FoldedNetwork implements Network {
  private constructor(
    private readonly steps: PlannedStep[],
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly owned: tf.Tensor[],
  ) {}

  /** Plans the folded network; the model's own weights are copied, so it may be disposed after. */
  static from(model: tf.LayersModel): FoldedNetwork {
    const layers = model.layers;
    const consumers = new Map<string, number>();
    for (const layer of layers) for (const name of inboundNames(layer)) consumers.set(name, (consumers.get(name) ?? 0) + 1);
    const byName = new Map(layers.map((l) => [l.name, l]));
    const onlyConsumer = (name: string) => (consumers.get(name) === 1 ? layers.find((l) => inboundNames(l).includes(name)) : undefined);
    const steps: PlannedStep[] = [];
    const owned: tf.Tensor[] = [];
    const alias = new Map<string, string>(); // a folded layer's name -> the step that computes it
    const resolve = (name: string) => alias.get(name) ?? name;
    const skipped = new Set<string>();
    for (const layer of layers) {
      if (skipped.has(layer.name)) continue;
      const inputs = inboundNames(layer).map(resolve);
      const className = layer.getClassName();
      if (className === 'InputLayer') continue;
      if (className === 'Conv2D' && (config(layer).activation ?? 'linear') === 'linear') {
        let end = layer;
        let kernel: tf.Tensor4D;
        let bias: tf.Tensor1D | undefined;
        const bn = onlyConsumer(layer.name);
        if (bn && bn.getClassName() === 'BatchNormalization') {
          ({ kernel, bias } = foldBatchNorm(layer, bn));
          skipped.add(bn.name);
          alias.set(layer.name, bn.name);
          end = bn;
        } else {
          const w = layer.getWeights();
          kernel = w[0].clone() as tf.Tensor4D;
          bias = config(layer).useBias === false ? undefined : (w[1].clone() as tf.Tensor1D);
        }
        owned.push(kernel, ...(bias ? [bias] : []));
        let activation: FusedActivation = 'linear';
        let alpha: tf.Tensor | undefined;
        let shuffle: tf.layers.Layer | undefined;
        let act = onlyConsumer(end.name);
        // Sub-pixel upsampler: conv -> depth-to-space -> PReLU. With the slopes repeated for every
        // sub-pixel position (TensorFlow's DCR order puts channel c of position (i, j) at
        // (i * b + j) * C + c), the PReLU commutes with the shuffle and fuses into the conv.
        if (act && act.getClassName() === 'SrDepthToSpace' && onlyConsumer(act.name)?.getClassName() === 'PReLU') {
          shuffle = act;
          act = onlyConsumer(act.name);
        }
        if (act && act.getClassName() === 'PReLU') {
          activation = 'prelu';
          const slopes = act.getWeights()[0];
          const b = shuffle ? (shuffle as unknown as { blockSize: number }).blockSize : 1;
          alpha = b === 1 ? slopes.clone() : tf.tidy(() => tf.tile(slopes.reshape([1, 1, -1]), [1, 1, b * b]));
          owned.push(alpha);
        } else if (act && act.getClassName() === 'ReLU' && !shuffle) {
          activation = 'relu';
        } else {
          shuffle = undefined;
        }
        const fusedConv = convStep(layer, kernel, bias, activation, alpha);
        let run = fusedConv;
        if (shuffle) {
          const blockSize = (shuffle as unknown as { blockSize: number }).blockSize;
          skipped.add(shuffle.name);
          run = (xs) => tf.depthToSpace(fusedConv(xs) as tf.Tensor4D, blockSize, 'NHWC');
        }
        if (activation !== 'linear') {
          skipped.add(act!.name);
          alias.set(end.name, act!.name);
          if (shuffle) alias.set(shuffle.name, act!.name);
          end = act!;
        }
        steps.push({ name: end.name, inputs, run });
        continue;
      }
      const target = byName.get(layer.name)!;
      steps.push({ name: layer.name, inputs, run: (xs) => target.apply(xs.length === 1 ? xs[0] : xs) as tf.Tensor });
    }
    const inputName = model.inputLayers[0].name;
    const outputName = resolve(model.outputLayers[0].name);
    return new FoldedNetwork(steps, inputName, outputName, owned);
  }

  predict(x: tf.Tensor4D): tf.Tensor {
    return tf.tidy(() => {
      const values = new Map<string, tf.Tensor>([[this.inputName, x]]);
      for (const step of this.steps) values.set(step.name, step.run(step.inputs.map((n) => values.get(n)!)));
      return values.get(this.outputName)!;
    });
  }

  /** Convolutions after folding (for tests and reports). */
  get stepCount(): number {
    return this.steps.length;
  }

  dispose(): void {
    tf.dispose(this.owned);
  }
}
