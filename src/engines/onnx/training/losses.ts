/**
 * Losses as graph nodes, each with its gradient with respect to the prediction, matching tfjs's
 * tf.losses (mean over every element):
 * - MSE: mean((p - t)^2), gradient 2 (p - t) / count;
 * - L1: mean(|t - p|), gradient -step(t - p) / count, with tfjs's abs gradient step(0) = -1, so
 *   +1/count where p = t;
 * - sigmoid cross-entropy with logits z and labels l: mean(max(z, 0) - z l + log(1 + exp(-|z|))),
 *   gradient (sigmoid(z) - l) / count.
 */
import { sizeOf, type GraphBuilder, type Value } from './builder';

export type PixelLossKind = 'mse' | 'l1';

export interface LossTerm {
  /** The scalar loss (shape []). */
  loss: Value;
  /** Its gradient with respect to the prediction. */
  grad: Value;
}

function allAxes(v: Value): number[] {
  return v.shape.map((_, i) => i);
}

export function pixelLossTerm(b: GraphBuilder, kind: PixelLossKind, prediction: Value, target: Value, base: string): LossTerm {
  const diff = b.sub(prediction, target, `${base}/diff`);
  const n = sizeOf(diff.shape);
  if (kind === 'mse') {
    const loss = b.reduceMean(b.mul(diff, diff, `${base}/sq`), allAxes(diff), `${base}/mse`, false);
    return { loss, grad: b.mul(diff, b.scalar(2 / n), `${base}/grad`) };
  }
  const loss = b.reduceMean(b.op('Abs', [diff], diff.shape, `${base}/abs`), allAxes(diff), `${base}/l1`, false);
  const negative = b.op('Less', [diff, b.scalar(0)], diff.shape, `${base}/neg`);
  return { loss, grad: b.op('Where', [negative, b.scalar(-1 / n), b.scalar(1 / n)], diff.shape, `${base}/grad`) };
}

/** Sigmoid cross-entropy of logits against one label value for the whole batch (1 real, 0 fake). */
export function sigmoidCrossEntropyTerm(b: GraphBuilder, logits: Value, label: number, base: string): LossTerm {
  const n = sizeOf(logits.shape);
  const zero = b.scalar(0);
  const relu = b.op('Max', [logits, zero], logits.shape, `${base}/relu`);
  const absolute = b.op('Abs', [logits], logits.shape, `${base}/abs`);
  const softplus = b.op(
    'Log',
    [b.add(b.scalar(1), b.op('Exp', [b.op('Neg', [absolute], logits.shape, `${base}/nabs`)], logits.shape, `${base}/exp`), `${base}/1p`)],
    logits.shape,
    `${base}/log1p`,
  );
  let perItem = b.add(relu, softplus, `${base}/sum`);
  if (label !== 0) perItem = b.sub(perItem, b.mul(logits, b.scalar(label), `${base}/zl`), `${base}/items`);
  const loss = b.reduceMean(perItem, allAxes(logits), `${base}/xent`, false);
  const sigmoid = b.op('Sigmoid', [logits], logits.shape, `${base}/sigmoid`);
  const grad = b.mul(b.sub(sigmoid, b.scalar(label), `${base}/residual`), b.scalar(1 / n), `${base}/grad`);
  return { loss, grad };
}
