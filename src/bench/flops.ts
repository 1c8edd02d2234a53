/**
 * Analytic operation counts of a network's convolutions, from the layer shapes.
 *
 * How we count:
 *  - A 2-D convolution's forward pass costs 2 * Hout * Wout * kh * kw * Cin * Cout floating-point
 *    operations per image (one multiply and one add per kernel tap, per input channel, per output
 *    channel, per output pixel); stride and padding enter through Hout and Wout. Bias adds,
 *    activations, batch normalisation, PReLU, the pixel shuffle, residual adds and the loss are
 *    not counted: they are a few operations per activation against hundreds to thousands per
 *    convolution output, so GFLOP/s here means "convolution GFLOP per second of wall time".
 *  - A training step counts each convolution three times, as the usual "~3x the forward" rule:
 *    the forward pass, the gradient with respect to the filter (the same multiply-adds, summed
 *    over the batch instead of over the taps) and the gradient with respect to the layer input
 *    (a transposed convolution of the same size). The one exception is a convolution that reads
 *    the network input directly: no gradient flows into the image, and tfjs prunes that product
 *    from the tape, so it counts twice. (For SRCNN 9-5-5 that first layer holds 9% of the
 *    forward work, so its step is 2.91x the forward rather than 3x.)
 *  - The optimizer update (Adam: a handful of element-wise operations per weight) is not counted.
 * Shapes are found by running each layer's computeOutputShape over the model graph from a
 * concrete input shape, so 'valid' padding, strides and the sub-pixel upsamplers are followed.
 */
import * as tf from '@tensorflow/tfjs';

export interface ConvCount {
  layer: string;
  /** [kh, kw, cin, cout] */
  kernel: number[];
  /** [n, h, w, c] of the layer's output */
  output: number[];
  forwardFlop: number;
  /** True when the layer reads the network input (no input gradient in a training step). */
  readsInput: boolean;
}

export interface FlopCount {
  convolutions: ConvCount[];
  /** Convolution FLOP of one forward pass over the given input shape. */
  forward: number;
  /** Convolution FLOP of one training step (forward and both gradients, as counted above). */
  trainStep: number;
}

type Shape = (number | null)[];
type LayerNode = tf.layers.Layer['inboundNodes'][number];

function concrete(shape: Shape, where: string): number[] {
  if (shape.some((d) => d === null || d === undefined)) throw new Error(`unresolved shape [${shape.join(', ')}] at ${where}`);
  return shape as number[];
}

/** Counts the convolutions of a single-input, single-output functional model on `inputShape` ([n, h, w, c]). */
export function countConvFlops(model: tf.LayersModel, inputShape: [number, number, number, number]): FlopCount {
  if (model.inputs.length !== 1) throw new Error('countConvFlops handles single-input models');
  const shapes = new Map<number, Shape>();
  const inputId = model.inputs[0].id;
  shapes.set(inputId, inputShape);
  const convolutions: ConvCount[] = [];
  // model.layers is in topological order (inputs first), so every layer's inputs are known when it is reached.
  for (const layer of model.layers) {
    const node: LayerNode | undefined = layer.inboundNodes[0];
    if (!node) throw new Error(`layer ${layer.name} is not connected`);
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw new Error(`layer ${layer.name} is used more than once; not supported`);
    const inShapes = node.inputTensors.map((t) => {
      const s = shapes.get(t.id);
      if (!s) throw new Error(`the input of layer ${layer.name} has no known shape (graph not in topological order?)`);
      return s;
    });
    const out = layer.computeOutputShape(inShapes.length === 1 ? inShapes[0] : inShapes) as Shape | Shape[];
    const outShapes = (Array.isArray(out[0]) ? out : [out]) as Shape[];
    node.outputTensors.forEach((t, i) => shapes.set(t.id, outShapes[i]));

    if (layer.getClassName() === 'Conv2D') {
      const kernelWeight = layer.weights.find((w) => w.name.endsWith('kernel') || w.originalName.endsWith('kernel'));
      if (!kernelWeight || kernelWeight.shape.length !== 4) throw new Error(`conv layer ${layer.name} has no 4-D kernel`);
      const kernel = concrete(kernelWeight.shape, layer.name);
      const output = concrete(outShapes[0], layer.name);
      const [kh, kw, cin, cout] = kernel;
      const [n, h, w] = output;
      convolutions.push({
        layer: layer.name,
        kernel,
        output,
        forwardFlop: 2 * n * h * w * kh * kw * cin * cout,
        readsInput: node.inputTensors.some((t) => t.id === inputId),
      });
    }
  }
  const forward = convolutions.reduce((sum, c) => sum + c.forwardFlop, 0);
  const trainStep = convolutions.reduce((sum, c) => sum + c.forwardFlop * (c.readsInput ? 2 : 3), 0);
  return { convolutions, forward, trainStep };
}
