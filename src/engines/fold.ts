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

/** Activations a folded convolution applies to its own output (tanh runs after the fused call). */
export type ConvActivation = 'linear' | 'relu' | 'prelu' | 'tanh';

/**
 * One convolution of the folded graph, in TensorFlow's NHWC layout: kernel [kh, kw, in, out],
 * then bias, activation and, when `shuffle` is set, a depth-to-space (DCR order) of that block.
 */
export interface ConvOp {
  kind: 'conv';
  kernel: tf.Tensor4D;
  bias?: tf.Tensor1D;
  strides: [number, number];
  dilations: [number, number];
  padding: 'same' | 'valid';
  activation: ConvActivation;
  /** PReLU slopes, one per output channel (shape [1, 1, out]) when activation is 'prelu'. */
  alpha?: tf.Tensor;
  shuffle?: number;
}

/** A layer that runs as it is (additions, the output mapping, ...). */
export interface LayerOp {
  kind: 'layer';
  layer: tf.layers.Layer;
}

export type FoldedOp = ConvOp | LayerOp;

/** One node of the folded graph: what it computes and from which named values. */
export interface FoldedStep {
  name: string;
  inputs: string[];
  op: FoldedOp;
}

/** The folded graph as data, for exporters (the ONNX one) that rebuild it elsewhere. */
export interface FoldedGraph {
  inputName: string;
  /** Channels of the network's input (NHWC's last axis), when the model fixes it. */
  inputChannels: number | null;
  outputName: string;
  steps: readonly FoldedStep[];
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

/**
 * Whether to run a convolution before the depth-to-space (block b) that feeds it: it must be a
 * stride-1, undilated, 'same', odd-sized one with an elementwise activation, and worth it. The
 * multiply-adds grow by (k' * b / k)^2 (k' = 2 ceil(r / b) + 1): 1.23 for the 9x9 tail of SRResNet,
 * 4 for a 3x3; it pays only for narrow outputs (RGB), which XNNPACK runs at a fraction of its speed.
 */
function phaseFoldable(conv: tf.layers.Layer, b: number): boolean {
  const c = config(conv);
  const [kh, kw, , cout] = conv.getWeights()[0].shape as number[];
  const grown = (k: number) => ((2 * Math.ceil((k - 1) / 2 / b) + 1) * b) / k;
  return (
    cout <= 4 &&
    grown(kh) * grown(kw) <= 1.5 &&
    pair(c.strides).every((v) => v === 1) &&
    pair(c.dilationRate).every((v) => v === 1) &&
    c.padding === 'same' &&
    kh % 2 === 1 &&
    kw % 2 === 1 &&
    ['linear', 'relu', 'tanh'].includes(c.activation ?? 'linear')
  );
}

/**
 * The kernel that computes, on y (before a depth-to-space of block b), the b*b phases of a
 * convolution W applied after it. Output pixel (b*i + a, b*j + e) of W reads shuffled pixel
 * (b*i + a + dy, ...) = y[i + floor((a + dy) / b), ..., channel ((a + dy) mod b) * b + ...]; so
 * W'[py, px, (q*b + s)*C + c, (a*b + e)*O + o] = W[dy, dx, c, o] with dy = b*py + q - a. Zero
 * padding of r pixels after the shuffle is covered by ceil(r/b) pixels of y ('same' for the new
 * odd size), and the bias repeats for every phase, in TensorFlow's DCR channel order.
 */
function phaseKernel(conv: tf.layers.Layer, b: number): { kernel: tf.Tensor4D; bias: tf.Tensor1D } {
  const weights = conv.getWeights();
  const [kh, kw, cin, cout] = weights[0].shape as number[];
  const w = weights[0].dataSync();
  const [rh, rw] = [(kh - 1) / 2, (kw - 1) / 2];
  const [ph, pw] = [Math.ceil(rh / b), Math.ceil(rw / b)];
  const [nh, nw, nin, nout] = [2 * ph + 1, 2 * pw + 1, cin * b * b, cout * b * b];
  const out = new Float32Array(nh * nw * nin * nout);
  for (let py = -ph; py <= ph; py++)
    for (let px = -pw; px <= pw; px++) {
      for (let q = 0; q < b; q++)
        for (let s = 0; s < b; s++)
          for (let a = 0; a < b; a++)
            for (let e = 0; e < b; e++) {
              const dy = b * py + q - a;
              const dx = b * px + s - e;
              if (Math.abs(dy) > rh || Math.abs(dx) > rw) continue;
              for (let c = 0; c < cin; c++)
                for (let o = 0; o < cout; o++) {
                  const from = (((dy + rh) * kw + (dx + rw)) * cin + c) * cout + o;
                  const to = (((py + ph) * nw + (px + pw)) * nin + (q * b + s) * cin + c) * nout + (a * b + e) * cout + o;
                  out[to] = w[from];
                }
            }
    }
  const bias = config(conv).useBias === false ? new Float32Array(cout) : weights[1].dataSync();
  const tiled = Float32Array.from({ length: nout }, (_, i) => bias[i % cout]);
  return { kernel: tf.tensor4d(out, [nh, nw, nin, nout]), bias: tf.tensor1d(tiled) };
}

function convOp(
  conv: tf.layers.Layer,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D | undefined,
  activation: ConvActivation,
  alpha?: tf.Tensor,
  shuffle?: number,
): ConvOp {
  const c = config(conv);
  return {
    kind: 'conv',
    kernel,
    bias,
    strides: pair(c.strides),
    dilations: pair(c.dilationRate),
    padding: c.padding ?? 'valid',
    activation,
    alpha,
    shuffle,
  };
}

/** Runs one convolution step: tfjs fuses bias and ReLU/PReLU into the call; tanh follows it. */
function runConv(op: ConvOp, x: tf.Tensor4D): tf.Tensor4D {
  let y = tf.fused.conv2d({
    x,
    filter: op.kernel,
    strides: op.strides,
    pad: op.padding,
    dilations: op.dilations,
    bias: op.bias,
    activation: op.activation === 'tanh' ? 'linear' : op.activation,
    preluActivationWeights: op.alpha,
  });
  if (op.activation === 'tanh') y = tf.tanh(y);
  return op.shuffle ? tf.depthToSpace(y, op.shuffle, 'NHWC') : y;
}

function runStep(op: FoldedOp, xs: tf.Tensor[]): tf.Tensor {
  if (op.kind === 'conv') return runConv(op, xs[0] as tf.Tensor4D);
  return op.layer.apply(xs.length === 1 ? xs[0] : xs) as tf.Tensor;
}

export interface FoldOptions {
  /**
   * Run a narrow convolution that follows a depth-to-space before it (default true): a win on
   * XNNPACK (tfjs wasm); other runtimes may prefer the plain graph.
   */
  phaseFold?: boolean;
}

/** A copy of a convolution's kernel and bias (undefined when it has none), owned by the plan. */
function convWeights(conv: tf.layers.Layer): { kernel: tf.Tensor4D; bias?: tf.Tensor1D } {
  const w = conv.getWeights();
  return { kernel: w[0].clone() as tf.Tensor4D, bias: config(conv).useBias === false ? undefined : (w[1].clone() as tf.Tensor1D) };
}

function blockSizeOf(shuffle: tf.layers.Layer): number {
  return (shuffle as unknown as { blockSize: number }).blockSize;
}

/**
 * Folding a model layer by layer, in order: each layer is taken by the first pattern that matches
 * it (one method each), else it runs as it is. Layers a pattern absorbed are skipped, and their
 * names resolve to the step that computes them.
 */
class FoldPlan {
  readonly steps: FoldedStep[] = [];
  readonly owned: tf.Tensor[] = [];
  private readonly consumers = new Map<string, number>();
  /** A folded layer's name -> the step that computes it. */
  private readonly alias = new Map<string, string>();
  private readonly skipped = new Set<string>();
  /** Steps ending in a depth-to-space, by output name: a following convolution can run before it. */
  private readonly shuffled = new Map<string, { step: FoldedStep & { op: ConvOp }; blockSize: number }>();

  constructor(
    private readonly layers: tf.layers.Layer[],
    private readonly options: FoldOptions,
  ) {
    for (const layer of layers) for (const name of inboundNames(layer)) this.consumers.set(name, (this.consumers.get(name) ?? 0) + 1);
  }

  resolve(name: string): string {
    return this.alias.get(name) ?? name;
  }

  private onlyConsumer(name: string): tf.layers.Layer | undefined {
    return this.consumers.get(name) === 1 ? this.layers.find((l) => inboundNames(l).includes(name)) : undefined;
  }

  add(layer: tf.layers.Layer): void {
    if (this.skipped.has(layer.name) || layer.getClassName() === 'InputLayer') return;
    const inputs = inboundNames(layer).map((n) => this.resolve(n));
    if (this.phaseFolded(layer, inputs) || this.convWithOwnActivation(layer, inputs) || this.convChain(layer, inputs)) return;
    this.steps.push({ name: layer.name, inputs, op: { kind: 'layer', layer } });
  }

  /**
   * conv(shuffle(y)) = shuffle(conv'(y)): a narrow convolution after a depth-to-space runs on the
   * smaller, wider pre-shuffle tensor, with b*b times the output channels, which XNNPACK runs far
   * better than a 3-channel output.
   */
  private phaseFolded(layer: tf.layers.Layer, inputs: string[]): boolean {
    const source = this.shuffled.get(inputs[0]);
    if (layer.getClassName() !== 'Conv2D' || !source || this.options.phaseFold === false) return false;
    if (this.consumers.get(inputs[0]) !== 1 || !phaseFoldable(layer, source.blockSize)) return false;
    const { kernel, bias } = phaseKernel(layer, source.blockSize);
    this.owned.push(kernel, bias);
    source.step.op = { ...source.step.op, shuffle: undefined };
    const activation = (config(layer).activation ?? 'linear') as 'linear' | 'relu' | 'tanh';
    this.steps.push({ name: layer.name, inputs, op: convOp(layer, kernel, bias, activation, undefined, source.blockSize) });
    return true;
  }

  /** A convolution with its activation inside the layer: nothing after it can fold in; one fused call. */
  private convWithOwnActivation(layer: tf.layers.Layer, inputs: string[]): boolean {
    const builtIn = config(layer).activation ?? 'linear';
    if (layer.getClassName() !== 'Conv2D' || (builtIn !== 'relu' && builtIn !== 'tanh')) return false;
    const { kernel, bias } = convWeights(layer);
    this.owned.push(kernel, ...(bias ? [bias] : []));
    this.steps.push({ name: layer.name, inputs, op: convOp(layer, kernel, bias, builtIn) });
    return true;
  }

  /**
   * A linear convolution, the batch norm that alone reads it folded into its weights, and the
   * activation after them fused into the call: PReLU or ReLU, or a depth-to-space then a PReLU (the
   * sub-pixel upsampler).
   */
  private convChain(layer: tf.layers.Layer, inputs: string[]): boolean {
    if (layer.getClassName() !== 'Conv2D' || (config(layer).activation ?? 'linear') !== 'linear') return false;
    let end = layer;
    const bn = this.onlyConsumer(layer.name);
    let weights: { kernel: tf.Tensor4D; bias?: tf.Tensor1D };
    if (bn && bn.getClassName() === 'BatchNormalization') {
      weights = foldBatchNorm(layer, bn);
      this.skipped.add(bn.name);
      this.alias.set(layer.name, bn.name);
      end = bn;
    } else {
      weights = convWeights(layer);
    }
    this.owned.push(weights.kernel, ...(weights.bias ? [weights.bias] : []));
    const fused = this.fusedActivation(end);
    if (fused.activation !== 'linear') {
      const act = fused.layer!;
      this.skipped.add(act.name);
      this.alias.set(end.name, act.name);
      if (fused.shuffle) {
        this.skipped.add(fused.shuffle.name);
        this.alias.set(fused.shuffle.name, act.name);
      }
      end = act;
    }
    const blockSize = fused.shuffle ? blockSizeOf(fused.shuffle) : undefined;
    const step = { name: end.name, inputs, op: convOp(layer, weights.kernel, weights.bias, fused.activation, fused.alpha, blockSize) };
    this.steps.push(step);
    if (blockSize) this.shuffled.set(end.name, { step, blockSize });
    return true;
  }

  /**
   * The activation that alone reads `end` (through a depth-to-space for PReLU). With the slopes
   * repeated for every sub-pixel position (TensorFlow's DCR order puts channel c of position (i, j)
   * at (i * b + j) * C + c), a PReLU commutes with the shuffle and fuses into the convolution.
   */
  private fusedActivation(end: tf.layers.Layer): {
    activation: ConvActivation;
    layer?: tf.layers.Layer;
    shuffle?: tf.layers.Layer;
    alpha?: tf.Tensor;
  } {
    let act = this.onlyConsumer(end.name);
    let shuffle: tf.layers.Layer | undefined;
    if (act && act.getClassName() === 'SrDepthToSpace' && this.onlyConsumer(act.name)?.getClassName() === 'PReLU') {
      shuffle = act;
      act = this.onlyConsumer(act.name);
    }
    if (act && act.getClassName() === 'PReLU') {
      const slopes = act.getWeights()[0];
      const b = shuffle ? blockSizeOf(shuffle) : 1;
      const alpha = b === 1 ? slopes.clone() : tf.tidy(() => tf.tile(slopes.reshape([1, 1, -1]), [1, 1, b * b]));
      this.owned.push(alpha);
      return { activation: 'prelu', layer: act, shuffle, alpha };
    }
    if (act && act.getClassName() === 'ReLU' && !shuffle) return { activation: 'relu', layer: act };
    return { activation: 'linear' };
  }
}

export class FoldedNetwork implements Network {
  /** For each value, the index of the last step that reads it. */
  private readonly lastUse = new Map<string, number>();

  private constructor(
    private readonly steps: FoldedStep[],
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly owned: tf.Tensor[],
    private readonly inputChannels: number | null,
  ) {
    steps.forEach((step, i) => step.inputs.forEach((n) => this.lastUse.set(n, i)));
  }

  /** Plans the folded network; its weights are copied, but weightless layers (add, shuffle) are the model's: keep the model until this is disposed. */
  static from(model: tf.LayersModel, options: FoldOptions = {}): FoldedNetwork {
    const plan = new FoldPlan(model.layers, options);
    for (const layer of model.layers) plan.add(layer);
    const inputName = model.inputLayers[0].name;
    const outputName = plan.resolve(model.outputLayers[0].name);
    const inputChannels = model.inputs[0].shape[3] ?? null;
    return new FoldedNetwork(plan.steps, inputName, outputName, plan.owned, inputChannels);
  }

  /**
   * Each step's temporaries are freed when it ends and each value once its last reader has run, so
   * only the graph's live values exist at a time. Kept all to the end (one tf.tidy), a 224x224
   * SRGAN tile held every block's output and each upsampler's copies at once: over 2 GB of wasm memory.
   */
  predict(x: tf.Tensor4D): tf.Tensor {
    const lastUse = this.lastUse;
    const values = new Map<string, tf.Tensor>([[this.inputName, x]]);
    // A layer may hand back its input unchanged: a tensor is freed only when no name holds it.
    const holders = new Map<tf.Tensor, number>([[x, 1]]);
    let out: tf.Tensor | undefined;
    const hold = (name: string, t: tf.Tensor) => {
      values.set(name, t);
      holders.set(t, (holders.get(t) ?? 0) + 1);
    };
    const release = (name: string) => {
      const t = values.get(name)!;
      values.delete(name);
      const left = holders.get(t)! - 1;
      holders.set(t, left);
      if (left === 0 && t !== x && t !== out) t.dispose();
    };
    try {
      this.steps.forEach((step, i) => {
        hold(
          step.name,
          tf.tidy(() =>
            runStep(
              step.op,
              step.inputs.map((n) => values.get(n)!),
            ),
          ),
        );
        for (const name of new Set(step.inputs)) if (lastUse.get(name) === i && name !== this.outputName) release(name);
        if (!lastUse.has(step.name) && step.name !== this.outputName) release(step.name);
      });
      out = values.get(this.outputName)!;
      values.delete(this.outputName);
      return out;
    } finally {
      for (const name of [...values.keys()]) release(name);
    }
  }

  /** The folded graph as data (its tensors stay owned by this network). */
  get graph(): FoldedGraph {
    return { inputName: this.inputName, inputChannels: this.inputChannels, outputName: this.outputName, steps: this.steps };
  }

  /** Convolutions after folding (for tests and reports). */
  get stepCount(): number {
    return this.steps.length;
  }

  dispose(): void {
    tf.dispose(this.owned);
  }
}
