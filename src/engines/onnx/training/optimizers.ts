/**
 * Optimizer updates as graph nodes, computed as tfjs's optimizers compute them (same operations,
 * same float32 constants), so slots move between the engines:
 * - Adam: m' = m b1 + g (1 - b1); v' = v b2 + g^2 (1 - b2);
 *   p' = p - lr * (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps), where b1^t and b2^t are the
 *   running products tfjs keeps (graph inputs, advanced in JS);
 * - SGD with momentum: a' = a * momentum + g; p' = p - lr * a'.
 */
import type { GraphBuilder, Value } from './builder';

export type OptimizerSpec = { kind: 'adam'; beta1: number; beta2: number; epsilon: number } | { kind: 'sgd'; momentum: number };

/** Slot suffixes in tfjs's getWeights() order (all first moments, then all second moments). */
export function slotKinds(spec: OptimizerSpec): string[] {
  return spec.kind === 'adam' ? ['m', 'v'] : ['momentum'];
}

/** The step's scalar inputs (learning rate; Adam's running beta powers) and what every update derives from them. */
export interface UpdateInputs {
  /** The role's own scalar input names (Adam's beta powers); 'lr' is shared. */
  names: string[];
  negLr: Value;
  oneMinusAcc1?: Value;
  oneMinusAcc2?: Value;
}

/**
 * The optimizer's scalar inputs for one role's network: the learning rate `lr` (shared by every
 * role, as tfjs's loop sets one rate on every optimizer) and, for Adam, the role's own running beta
 * powers `<role>.acc_beta1` and `<role>.acc_beta2` (each optimizer counts its own applied steps).
 */
export function optimizerInputs(b: GraphBuilder, spec: OptimizerSpec, role: string): UpdateInputs {
  const lr = b.inputOnce('lr', []);
  const negLr = b.op('Neg', [lr], [], `${role}/neg_lr`);
  if (spec.kind === 'sgd') return { names: [], negLr };
  const one = b.scalar(1);
  const acc1 = b.input(`${role}.acc_beta1`, []);
  const acc2 = b.input(`${role}.acc_beta2`, []);
  return {
    names: [acc1.name, acc2.name],
    negLr,
    oneMinusAcc1: b.sub(one, acc1, `${role}/one_minus_acc_beta1`),
    oneMinusAcc2: b.sub(one, acc2, `${role}/one_minus_acc_beta2`),
  };
}

/** The new parameter and slots (in slotKinds order) for one parameter. */
export function optimizerUpdate(
  b: GraphBuilder,
  spec: OptimizerSpec,
  param: Value,
  grad: Value,
  slots: Value[],
  io: UpdateInputs,
  base: string,
): { param: Value; slots: Value[] } {
  if (spec.kind === 'sgd') {
    const acc = b.add(b.mul(slots[0], b.scalar(spec.momentum), `${base}/acc_m`), grad, `${base}/acc`);
    return { param: b.add(b.mul(acc, io.negLr, `${base}/step`), param, `${base}/new`), slots: [acc] };
  }
  const m = b.add(
    b.mul(slots[0], b.scalar(spec.beta1), `${base}/m_b1`),
    b.mul(grad, b.scalar(1 - spec.beta1), `${base}/g_1mb1`),
    `${base}/m`,
  );
  const v = b.add(
    b.mul(slots[1], b.scalar(spec.beta2), `${base}/v_b2`),
    b.mul(b.mul(grad, grad, `${base}/g2`), b.scalar(1 - spec.beta2), `${base}/g2_1mb2`),
    `${base}/v`,
  );
  const mHat = b.div(m, io.oneMinusAcc1!, `${base}/m_hat`);
  const vHat = b.div(v, io.oneMinusAcc2!, `${base}/v_hat`);
  const denom = b.add(b.op('Sqrt', [vHat], vHat.shape, `${base}/sqrt_v`), b.scalar(spec.epsilon), `${base}/denom`);
  const step = b.mul(b.div(mHat, denom, `${base}/ratio`), io.negLr, `${base}/step`);
  return { param: b.add(step, param, `${base}/new`), slots: [m, v] };
}
