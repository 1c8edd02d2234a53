/**
 * What a layer kind contributes to a training graph: its forward rule and, beside it, its backward
 * rule. Both write ONNX nodes into the same GraphBuilder; images are NCHW, weights keep tfjs's
 * layout (a Conv2D kernel is HWIO) so they go in and out of the step exactly as tfjs stores them.
 */
import type * as tf from '@tensorflow/tfjs';
import type { GraphBuilder, Value } from '../builder';

export interface ForwardArgs {
  b: GraphBuilder;
  layer: tf.layers.Layer;
  /** The layer's name, a prefix for the values it makes. */
  name: string;
  /** The layer's inputs (NCHW images, or [N, features] after a Flatten). */
  inputs: Value[];
  /** The layer's weights, in layer.getWeights() order and tfjs layout. */
  weights: Value[];
}

export interface ForwardResult {
  output: Value;
  /** New values of non-trainable weights (batch norm's moving statistics), by weight index. */
  updates?: Map<number, Value>;
  /**
   * The batch statistics behind those updates (moving -= (moving - batch) * decay), for steps that
   * run a network several times and chain the updates (the GAN step).
   */
  statistics?: { index: number; batch: Value; decay: number }[];
  /** Whatever the backward rule needs from the forward pass. */
  saved?: unknown;
}

export interface BackwardArgs extends ForwardArgs {
  output: Value;
  saved: unknown;
  /** The loss's gradient with respect to `output`. */
  dy: Value;
  /** Which inputs need a gradient (those that depend on a trained weight). */
  needInputs: boolean[];
  /** Which weights are trained. */
  needWeights: boolean[];
}

export interface BackwardResult {
  /** Gradients of the inputs (undefined where not needed). */
  inputs: (Value | undefined)[];
  /** Gradients of the weights, in tfjs layout (undefined where not trained). */
  weights: (Value | undefined)[];
}

export interface LayerRule {
  /** tfjs class names the rule serves ('Conv2D', 'SrDepthToSpace', ...). */
  classNames: string[];
  /**
   * Why this layer, though of a kind the rule serves, is out of its reach (a setting it does not
   * write), or undefined: checked before any graph is built, so `--engine auto` can choose tfjs.
   */
  unsupported?(layer: tf.layers.Layer): string | undefined;
  forward(args: ForwardArgs): ForwardResult;
  backward(args: BackwardArgs): BackwardResult;
}

/** A layer's configuration, read loosely (each rule checks what it relies on). */
export function layerConfig<T>(layer: tf.layers.Layer): Partial<T> {
  return layer.getConfig() as Partial<T>;
}

export function pair(v: number | number[] | undefined, fallback = 1): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : [v[0], v[1] ?? v[0]];
}
