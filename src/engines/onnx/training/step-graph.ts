/**
 * The training step of one network under a pixel loss, as one ONNX graph:
 *
 *   inputs:  input [N, H, W, C] and target [N, H', W', C] (NHWC, as batches come), lr and
 *            optimizer scalars, every trained weight (param.i), every optimizer slot
 *            (slot.<kind>.i) and every non-trainable weight (state.j, batch norm's moving stats)
 *   outputs: loss, and the new value of each of those weights and slots (…:new)
 *
 * The network runs NCHW inside; weights keep tfjs's layout. When the loss is not finite every new
 * value is the old one (a Where on isfinite(loss)), so a bad batch changes nothing but still
 * reports its loss. A target larger than the output ('valid' convolutions) is centre-cropped.
 */
import type * as tf from '@tensorflow/tfjs';
import { SrError } from '../../../core/errors';
import { GraphBuilder, type Value } from './builder';
import { pixelLossTerm, type PixelLossKind } from './losses';
import { chainMovingAverages, forwardNetwork, type NetworkPass, type WeightSources } from './network';
import { optimizerInputs, optimizerUpdate, slotKinds, type OptimizerSpec } from './optimizers';

/** One tensor that goes into the step and comes back updated. */
export interface Carried {
  input: string;
  /** Undefined when the step leaves it as it is (a frozen layer's statistics). */
  output?: string;
  shape: number[];
}

/** What one network of the step ('model', 'discriminator') carries from step to step. */
export interface RoleGraph {
  role: string;
  /** Trained weights in model.trainableWeights order. */
  params: Carried[];
  /** Optimizer slots in tfjs's getWeights() order (after its 'iter'). */
  slots: Carried[];
  /** Non-trainable weights in model.nonTrainableWeights order. */
  states: Carried[];
  /** The role's scalar inputs besides 'lr' (Adam's beta powers). */
  scalars: string[];
  /** The loss output whose finiteness decides whether this role's update was applied. */
  loss: string;
}

export interface StepGraph {
  bytes: Uint8Array;
  roles: RoleGraph[];
  /** Every loss output, by the name a step reports it under ('loss', 'content', 'd_loss'...). */
  losses: string[];
  /**
   * Present when the graph reads rolled views (gan.roll_views): each step feeds ROLL_INPUTS, the
   * row and column indices of stepShift(step, period) and of its inverse, for an image of this size.
   */
  roll?: { period: number; height: number; width: number };
}

/** The int64 index inputs of a graph with `roll`: rows, columns, and the inverse rows and columns. */
export const ROLL_INPUTS = { rows: 'roll_rows', cols: 'roll_cols', rowsBack: 'roll_rows_back', colsBack: 'roll_cols_back' } as const;

export interface PixelStepSpec {
  model: tf.LayersModel;
  loss: PixelLossKind;
  optimizer: OptimizerSpec;
  /** NHWC shapes of the batch's input and target. */
  inputShape: number[];
  targetShape: number[];
}

/** An NHWC graph value as NCHW (a reshape when there is one channel); other ranks as they are. */
export function toNchw(b: GraphBuilder, x: Value, base: string): Value {
  if (x.shape.length !== 4) return x;
  const [n, h, w, c] = x.shape;
  if (c === 1) return b.reshape(x, [n, 1, h, w], base);
  return b.transpose(x, [0, 3, 1, 2], base);
}

/** The centre of `target` at the size of `output` (both NCHW), or the target itself. */
export function centreCropTo(b: GraphBuilder, target: Value, output: Value, base: string): Value {
  if (target.shape.length !== 4 || output.shape.length !== 4) {
    if (target.shape.join() !== output.shape.join())
      throw new SrError(`the network's output [${output.shape.join(', ')}] does not fit its target [${target.shape.join(', ')}]`);
    return target;
  }
  const [dh, dw] = [target.shape[2] - output.shape[2], target.shape[3] - output.shape[3]];
  if (dh === 0 && dw === 0) return target;
  if (dh < 0 || dw < 0 || dh % 2 || dw % 2 || target.shape[1] !== output.shape[1]) {
    throw new SrError(`the network's output [${output.shape.join(', ')}] does not fit its target [${target.shape.join(', ')}]`);
  }
  return b.slice(target, [2, 3], [dh / 2, dw / 2], [target.shape[2] - dh / 2, target.shape[3] - dw / 2], base);
}

/**
 * Where(isfinite(loss), value, old): the guard every new weight and slot passes through. A float is
 * finite exactly when x - x == 0 (inf - inf and NaN - NaN are NaN), which needs only Sub and Equal,
 * operators every execution provider has.
 */
export function finiteGuard(b: GraphBuilder, loss: Value, base: string): (next: Value, old: Value, base: string) => Value {
  const ok = b.op('Equal', [b.sub(loss, loss, `${base}/loss_minus_loss`), b.scalar(0)], [], `${base}/loss_is_finite`);
  return (next, old, base) => b.op('Where', [ok, next, old], old.shape, base);
}

/** Graph inputs for every weight of `models`: trained ones as param.i, the others as state.j. */
export function weightInputs(
  b: GraphBuilder,
  models: tf.LayersModel[],
  prefix = '',
): { sources: WeightSources; params: Value[]; paramOwners: tf.LayerVariable[]; states: Value[]; stateOwners: tf.LayerVariable[] } {
  const params: Value[] = [];
  const states: Value[] = [];
  const paramOwners: tf.LayerVariable[] = [];
  const stateOwners: tf.LayerVariable[] = [];
  const byVariable = new Map<tf.LayerVariable, { value: Value; trained: boolean }>();
  for (const model of models) {
    for (const w of model.trainableWeights) {
      const value = b.input(`${prefix}param.${params.length}`, w.shape as number[]);
      params.push(value);
      paramOwners.push(w);
      byVariable.set(w, { value, trained: true });
    }
    for (const w of model.nonTrainableWeights) {
      const value = b.input(`${prefix}state.${states.length}`, w.shape as number[]);
      states.push(value);
      stateOwners.push(w);
      byVariable.set(w, { value, trained: false });
    }
  }
  const sources: WeightSources = (layer, index) => {
    const source = byVariable.get(layer.weights[index]);
    if (!source) throw new SrError(`weight ${index} of layer '${layer.name}' belongs to no network of the step`);
    return source;
  };
  return { sources, params, paramOwners, states, stateOwners };
}

/** A role's weights as graph inputs: `<role>.param.i`, `<role>.state.j`, and its optimizer's slots. */
export function roleInputs(b: GraphBuilder, role: string, model: tf.LayersModel, optimizer: OptimizerSpec) {
  const weights = weightInputs(b, [model], `${role}.`);
  const kinds = slotKinds(optimizer);
  const slots = kinds.map((kind) => weights.params.map((p, i) => b.input(`${role}.slot.${kind}.${i}`, p.shape)));
  return { ...weights, slots, io: optimizerInputs(b, optimizer, role) };
}

export type RoleInputs = ReturnType<typeof roleInputs>;

export type Guard = ReturnType<typeof finiteGuard>;

/**
 * Writes a role's optimizer update for its gradients, every new value guarded by `guard` (its loss
 * being finite); returns the new parameters (for a later use in the same step) and what it carries.
 */
export function paramUpdate(
  b: GraphBuilder,
  role: string,
  inputs: RoleInputs,
  optimizer: OptimizerSpec,
  grads: Map<string, Value>,
  guard: Guard,
): { params: Carried[]; slots: Carried[]; newParams: Value[] } {
  const kinds = slotKinds(optimizer);
  const params: Carried[] = [];
  const newParams: Value[] = [];
  const slots: Carried[][] = kinds.map(() => []);
  inputs.params.forEach((p, i) => {
    const g = grads.get(p.name);
    if (!g) throw new SrError(`weight '${inputs.paramOwners[i].name}' gets no gradient from the loss`);
    const updated = optimizerUpdate(
      b,
      optimizer,
      p,
      g,
      inputs.slots.map((s) => s[i]),
      inputs.io,
      `${role}/opt/${i}`,
    );
    const out = `${p.name}:new`;
    const guarded = guard(updated.param, p, `${p.name}/guarded`);
    b.output(out, guarded);
    newParams.push(guarded);
    params.push({ input: p.name, output: out, shape: p.shape });
    kinds.forEach((_, k) => {
      const slot = inputs.slots[k][i];
      const slotOut = `${slot.name}:new`;
      b.output(slotOut, guard(updated.slots[k], slot, `${slot.name}/guarded`));
      slots[k].push({ input: slot.name, output: slotOut, shape: slot.shape });
    });
  });
  return { params, slots: slots.flat(), newParams };
}

/** A role's moving statistics after the passes that ran its network (in order), guarded. */
export function stateUpdate(b: GraphBuilder, inputs: RoleInputs, passes: NetworkPass[], guard: Guard): Carried[] {
  const states: Carried[] = inputs.states.map((s) => ({ input: s.name, shape: s.shape }));
  inputs.stateOwners.forEach((owner, i) => {
    const batches: Value[] = [];
    let decay = 0;
    for (const pass of passes) {
      for (const st of pass.statistics) {
        if (st.layer.weights[st.index] !== owner) continue;
        batches.push(st.batch);
        decay = st.decay;
      }
    }
    if (!batches.length) return;
    const state = inputs.states[i];
    states[i].output = `${state.name}:new`;
    b.output(states[i].output!, guard(chainMovingAverages(b, state, batches, decay, state.name), state, `${state.name}/guarded`));
  });
  return states;
}

export function buildPixelStep(spec: PixelStepSpec): StepGraph {
  const b = new GraphBuilder();
  const input = toNchw(b, b.input('input', spec.inputShape), 'input_nchw');
  const target = toNchw(b, b.input('target', spec.targetShape), 'target_nchw');
  const model = roleInputs(b, 'model', spec.model, spec.optimizer);
  const pass = forwardNetwork(b, spec.model, input, model.sources, '');
  const term = pixelLossTerm(b, spec.loss, pass.output, centreCropTo(b, target, pass.output, 'target_crop'), 'loss');
  b.output('loss', term.loss);
  const grads = pass.backward(term.grad).weights;
  const guard = finiteGuard(b, term.loss, 'model');
  const { params, slots } = paramUpdate(b, 'model', model, spec.optimizer, grads, guard);
  const states = stateUpdate(b, model, [pass], guard);
  const role: RoleGraph = { role: 'model', params, slots, states, scalars: model.io.names, loss: 'loss' };
  return { bytes: b.encode(`${spec.model.name}-training-step`), roles: [role], losses: ['loss'] };
}
