/**
 * SRGAN's adversarial step as one ONNX graph, computing what the tfjs recipe's ganStep computes:
 *
 * 1. sr = G(lr) (training mode);
 * 2. the discriminator's update: d_loss = xent(D(hr), 1) + xent(D(sr), 0), with sr a constant for it;
 * 3. the generator's update through the discriminator's new weights: loss = content + w * xent(D(sr), 1),
 *    content = MSE(VGG(pre(sr)) / 12.75, VGG(pre(hr)) / 12.75) with VGG19's frozen weights as
 *    initializers (or the pixel MSE), pre = RGB -> BGR, * 255, - ImageNet means, plus
 *    pixelWeight * pixel loss (MSE or L1) of sr against hr when pixelWeight > 0.
 *
 * With rollPeriod, the discriminator and VGG see sr and hr rolled by the step's shift (int64 index
 * inputs the trainer feeds, ROLL_INPUTS), and their gradients with respect to sr are rolled back.
 *
 * Each network's update is guarded by its own loss being finite. Batch-norm moving statistics move
 * once per training-mode call, as tfjs-layers moves them: the generator's twice (tfjs runs it once
 * for the discriminator's update and again for its own, on the same weights, so the same batch
 * statistics), the discriminator's three times (hr, sr, then sr with its new weights). G's second
 * forward pass is the first one reused: same weights, same input, same values.
 */
import type * as tf from '@tensorflow/tfjs';
import { SrError } from '../../../core/errors';
import { GraphBuilder, attr, type Value } from './builder';
import { pixelLossTerm, sigmoidCrossEntropyTerm, type PixelLossKind } from './losses';
import { forwardNetwork, type WeightSources } from './network';
import type { OptimizerSpec } from './optimizers';
import { IMAGENET_BGR_MEANS } from '../../../models/vgg';
import {
  ROLL_INPUTS,
  finiteGuard,
  paramUpdate,
  roleInputs,
  stateUpdate,
  toNchw,
  type RoleGraph,
  type RoleInputs,
  type StepGraph,
} from './step-graph';

/** The content loss's feature scale (the paper's 1/12.75). */
const FEATURE_SCALE = 1 / 12.75;

export interface GanStepSpec {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  /** Frozen VGG19 features (to block5_conv4 or block2_conv2), or undefined for the pixel MSE. */
  features?: tf.LayersModel;
  adversarialWeight: number;
  /** Weight of the pixel loss added to the generator's (0: none, as in the paper). */
  pixelWeight?: number;
  pixelLoss?: PixelLossKind;
  /** VGG and the discriminator see SR and HR rolled by the step's shift below this period (gan.roll_views). */
  rollPeriod?: number;
  optimizer: OptimizerSpec;
  inputShape: number[];
  targetShape: number[];
}

/** A frozen network's weights as initializers (made once per variable). */
function frozenSources(b: GraphBuilder, prefix: string): WeightSources {
  const made = new Map<tf.LayerVariable, Value>();
  return (layer, index) => {
    const w = layer.weights[index];
    let value = made.get(w);
    if (!value) {
      value = b.constant(`${prefix}${w.name}`, w.read().dataSync() as Float32Array, w.shape as number[]);
      made.set(w, value);
    }
    return { value, trained: false };
  };
}

/** The discriminator with its updated weights, read but not trained (the generator's term). */
function updatedSources(inputs: RoleInputs, newParams: Value[]): WeightSources {
  return (layer, index) => {
    const i = inputs.paramOwners.indexOf(layer.weights[index]);
    return i >= 0 ? { value: newParams[i], trained: false } : { ...inputs.sources(layer, index), trained: false };
  };
}

/** VGG's preprocessing of an RGB [0, 1] NCHW image: BGR, 0..255, minus the ImageNet means. */
function vggPreprocess(b: GraphBuilder, x: Value, base: string): Value {
  const bgr = b.reverse(x, [1], `${base}/bgr`);
  const scaled = b.mul(bgr, b.scalar(255), `${base}/255`);
  return b.sub(scaled, b.constant(`${base}/means`, IMAGENET_BGR_MEANS, [1, 3, 1, 1]), `${base}/centred`);
}

/**
 * The rolled view of NCHW images and its adjoint (the inverse roll), from the step's index inputs;
 * identities when the graph does not roll.
 */
function rollViews(b: GraphBuilder, shape: number[], period: number | undefined): { view: (x: Value) => Value; back: (d: Value) => Value } {
  if (!period || period <= 1) return { view: (x) => x, back: (d) => d };
  const [, , h, w] = shape;
  const rows = b.int64Input(ROLL_INPUTS.rows, [h]);
  const cols = b.int64Input(ROLL_INPUTS.cols, [w]);
  const rowsBack = b.int64Input(ROLL_INPUTS.rowsBack, [h]);
  const colsBack = b.int64Input(ROLL_INPUTS.colsBack, [w]);
  const gather = (x: Value, r: string, c: string, base: string) =>
    b.op('Gather', [b.op('Gather', [x, r], x.shape, `${base}_rows`, [attr.int('axis', 2)]), c], x.shape, `${base}_cols`, [
      attr.int('axis', 3),
    ]);
  return { view: (x) => gather(x, rows, cols, `${x.name}_rolled`), back: (d) => gather(d, rowsBack, colsBack, `${d.name}_unrolled`) };
}

function sumGrads(b: GraphBuilder, a: Map<string, Value>, c: Map<string, Value>): Map<string, Value> {
  const out = new Map(a);
  for (const [k, v] of c) out.set(k, out.has(k) ? b.add(out.get(k)!, v, `${k}/grad_total`) : v);
  return out;
}

export function buildGanStep(spec: GanStepSpec): StepGraph {
  const b = new GraphBuilder();
  const lr = toNchw(b, b.input('input', spec.inputShape), 'input_nchw');
  const hr = toNchw(b, b.input('target', spec.targetShape), 'target_nchw');
  const g = roleInputs(b, 'model', spec.generator, spec.optimizer);
  const d = roleInputs(b, 'discriminator', spec.discriminator, spec.optimizer);

  const gPass = forwardNetwork(b, spec.generator, lr, g.sources, 'g/');
  const sr = gPass.output;
  if (sr.shape.join() !== hr.shape.join()) throw new SrError(`the generator's output [${sr.shape}] does not fit the target [${hr.shape}]`);
  // What VGG and the discriminator look at: SR and HR themselves, or both rolled by the step's shift.
  const roll = rollViews(b, hr.shape, spec.rollPeriod);
  const srSeen = roll.view(sr);
  const hrSeen = roll.view(hr);

  // The discriminator's update, on its current weights; sr is a constant for it.
  const real = forwardNetwork(b, spec.discriminator, hrSeen, d.sources, 'd_real/');
  const fake = forwardNetwork(b, spec.discriminator, srSeen, d.sources, 'd_fake/');
  const realTerm = sigmoidCrossEntropyTerm(b, real.output, 1, 'd_loss_real');
  const fakeTerm = sigmoidCrossEntropyTerm(b, fake.output, 0, 'd_loss_fake');
  const dLoss = b.add(realTerm.loss, fakeTerm.loss, 'd_loss_sum');
  b.output('d_loss', dLoss);
  const dGrads = sumGrads(b, real.backward(realTerm.grad).weights, fake.backward(fakeTerm.grad).weights);
  const dGuard = finiteGuard(b, dLoss, 'discriminator');
  const dUpdate = paramUpdate(b, 'discriminator', d, spec.optimizer, dGrads, dGuard);

  // The generator's adversarial term through the discriminator's new weights.
  const judged = forwardNetwork(b, spec.discriminator, srSeen, updatedSources(d, dUpdate.newParams), 'd_sr/', true);
  const advTerm = sigmoidCrossEntropyTerm(b, judged.output, 1, 'adversarial');
  b.output('adversarial', advTerm.loss);
  const dSeenAdversarial = judged.backward(advTerm.grad).input;
  const dSrAdversarial = dSeenAdversarial && roll.back(dSeenAdversarial);

  // The content term.
  let content: Value;
  let dSrContent: Value | undefined;
  if (spec.features) {
    const vgg = frozenSources(b, 'vgg/');
    const fSr = forwardNetwork(b, spec.features, vggPreprocess(b, srSeen, 'vgg_sr_pre'), vgg, 'vgg_sr/', true);
    const fHr = forwardNetwork(b, spec.features, vggPreprocess(b, hrSeen, 'vgg_hr_pre'), vgg, 'vgg_hr/');
    const scale = b.scalar(FEATURE_SCALE);
    const term = pixelLossTerm(b, 'mse', b.mul(fSr.output, scale, 'vgg_sr_scaled'), b.mul(fHr.output, scale, 'vgg_hr_scaled'), 'content');
    content = term.loss;
    const dPre = fSr.backward(b.mul(term.grad, scale, 'content_grad_features')).input;
    if (dPre) {
      dSrContent = roll.back(b.reverse(b.mul(dPre, b.scalar(255), 'content_grad_255'), [1], 'content_grad_rgb'));
    }
  } else {
    const term = pixelLossTerm(b, 'mse', sr, hr, 'content');
    content = term.loss;
    dSrContent = term.grad;
  }
  if (!dSrContent || !dSrAdversarial) throw new SrError('the generator gets no gradient from the GAN losses');
  b.output('content', content);
  const w = b.scalar(spec.adversarialWeight);
  let gLoss = b.add(content, b.mul(advTerm.loss, w, 'adversarial_weighted'), 'generator_loss');
  let dSr = b.add(dSrContent, b.mul(dSrAdversarial, w, 'adversarial_grad_weighted'), 'sr_grad');
  const losses = ['loss', 'content', 'adversarial', 'd_loss'];
  if (spec.pixelWeight) {
    const pixel = pixelLossTerm(b, spec.pixelLoss ?? 'l1', sr, hr, 'pixel');
    b.output('pixel', pixel.loss);
    losses.push('pixel');
    const wp = b.scalar(spec.pixelWeight);
    gLoss = b.add(gLoss, b.mul(pixel.loss, wp, 'pixel_weighted'), 'generator_loss_with_pixel');
    dSr = b.add(dSr, b.mul(pixel.grad, wp, 'pixel_grad_weighted'), 'sr_grad_with_pixel');
  }
  b.output('loss', gLoss);
  const gGrads = gPass.backward(dSr).weights;
  const gGuard = finiteGuard(b, gLoss, 'model');
  const gUpdate = paramUpdate(b, 'model', g, spec.optimizer, gGrads, gGuard);

  const roles: RoleGraph[] = [
    {
      role: 'model',
      params: gUpdate.params,
      slots: gUpdate.slots,
      states: stateUpdate(b, g, [gPass, gPass], gGuard),
      scalars: g.io.names,
      loss: 'loss',
    },
    {
      role: 'discriminator',
      params: dUpdate.params,
      slots: dUpdate.slots,
      states: stateUpdate(b, d, [real, fake, judged], dGuard),
      scalars: d.io.names,
      loss: 'd_loss',
    },
  ];
  const rolled =
    spec.rollPeriod && spec.rollPeriod > 1 ? { roll: { period: spec.rollPeriod, height: hr.shape[2], width: hr.shape[3] } } : {};
  return { bytes: b.encode('srgan-adversarial-step'), roles, losses, ...rolled };
}
