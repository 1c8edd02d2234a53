/** What the engine comparisons measure: relative drift between two weight tensors, and which weights have no true gradient. */
import type * as tf from '@tensorflow/tfjs';

/** ||a - b|| / ||a||: the drift of `b` from the reference `a`. */
export function relRms(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/**
 * A convolution bias that feeds only batch norms: the normalisation subtracts it again, so its true
 * gradient is zero and each engine's rounding noise alone moves it (see docs/training-engine.md).
 */
export function feedsBatchNorm(model: tf.LayersModel, weightName: string): boolean {
  if (!weightName.endsWith('/bias')) return false;
  const layer = model.layers.find((l) => l.weights.some((w) => w.name === weightName));
  const outbound = (layer as unknown as { outboundNodes: { outboundLayer: tf.layers.Layer }[] } | undefined)?.outboundNodes ?? [];
  return outbound.length > 0 && outbound.every((n) => n.outboundLayer.getClassName() === 'BatchNormalization');
}
