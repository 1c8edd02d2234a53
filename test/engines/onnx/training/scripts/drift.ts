/** What the engine comparisons measure: relative drift between two weight tensors, and which weights have no true gradient. */
import type * as tf from '@tensorflow/tfjs';

export { relRms } from '../../../../../src/bench/drift';

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
