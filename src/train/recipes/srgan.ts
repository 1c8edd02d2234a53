/**
 * SRGAN's adversarial phase. One step on a batch: first the discriminator learns to tell HR from
 * the generator's output, then the generator learns from the content loss plus the adversarial
 * loss (weight 1e-3 in the paper) and, when the config sets gan.pixel_weight, a pixel loss. Each
 * update is applied only when its loss is finite.
 *
 * The run (data, loop, checkpoints, resume) is run.ts's: the generator is the checkpoint's `model`
 * (so inference loads a GAN checkpoint like any other), the discriminator sits beside it, and each
 * network's Adam slots are saved under its role.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { checkSchema } from '../../config';
import {
  SRGAN_PHASES,
  srganConfigSchema,
  srganPhaseConfig,
  type GanOptions,
  type SrganPhase,
  type TrainingConfig,
} from '../../config/schema';
import { datasetsRoot } from '../../data/datasets';
import type { Batch } from '../../data/patches';
import { vgg19Weights, weightsStatus } from '../../data/weights';
import { SrError, UsageError } from '../../core/errors';
import { discriminatorLoss, generatorAdversarialLoss } from '../../losses/adversarial';
import { mseContentLoss, vggContentLoss, type ContentLoss } from '../../losses/content';
import { pixelLoss, type PixelLoss } from '../../losses/pixel';
import { stepShift } from '../../core/roll';
import { getArchitecture } from '../../models';
import { buildDiscriminator } from '../../models/discriminator';
import { loadVggFeatures, locateVggWeights } from '../../models/vgg';
import type { InitOrigin, LoadedCheckpoint } from '../../checkpoint';
import { runTraining, type TrainRunOptions, type TrainSummary } from '../run';
import { chooseTrainingEngine, ganLossOptions, onnxGanTask, type EngineOptions } from '../engine';
import { initialWeights, makeOptimizer, minimizeIfFinite, trainableVariables, type TrainableOptimizer, type TrainingTask } from '../task';
import { trainSupervised } from './pixel';
import type { TrainingRecipe } from './recipe';

export interface GanNetworks {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  generatorVars: tf.Variable[];
  discriminatorVars: tf.Variable[];
  generatorOptimizer: tf.Optimizer;
  discriminatorOptimizer: tf.Optimizer;
  content: ContentLoss;
  adversarialWeight: number;
  /** Weight and kind of the pixel loss added to the generator's (0: none, as in the paper). */
  pixelWeight?: number;
  pixelLoss?: PixelLoss;
  /** VGG and the discriminator see SR and HR rolled by each step's shift below this period (gan.roll_views). */
  rollPeriod?: number;
}

export interface GanStepLosses {
  discriminator: number;
  content: number;
  adversarial: number;
  generator: number;
  /** The pixel loss, when pixelWeight > 0. */
  pixel?: number;
}

/** The two networks with an optimizer each (the config's), as ganStep trains them. */
export function ganNetworks(
  generator: tf.LayersModel,
  discriminator: tf.LayersModel,
  content: ContentLoss,
  config: TrainingConfig,
): GanNetworks & { generatorOptimizer: TrainableOptimizer; discriminatorOptimizer: TrainableOptimizer } {
  return {
    generator,
    discriminator,
    generatorVars: trainableVariables(generator),
    discriminatorVars: trainableVariables(discriminator),
    generatorOptimizer: makeOptimizer(config.train),
    discriminatorOptimizer: makeOptimizer(config.train),
    content,
    ...ganLossOptions(config),
  };
}

/**
 * What VGG and the discriminator see of an NHWC batch this step: the images themselves, or (with a
 * roll period) the images rolled by the step's shift (src/core/roll.ts).
 */
function viewOfStep(n: GanNetworks): (x: tf.Tensor4D) => tf.Tensor4D {
  const [dy, dx] = stepShift(n.generatorOptimizer.iterations, n.rollPeriod ?? 1);
  if (dy === 0 && dx === 0) return (x) => x;
  // Slices and a concat rather than a gather: tfjs's wasm backend has no kernel for gather's gradient.
  // rolled[i] = x[(i + shift) mod size] along `axis`: x from `shift` on, then x up to `shift`.
  const roll = (x: tf.Tensor4D, axis: 1 | 2, shift: number) => {
    if (shift === 0) return x;
    const from = [0, 0, 0, 0];
    const upTo = [-1, -1, -1, -1];
    from[axis] = shift;
    upTo[axis] = shift;
    return tf.concat([tf.slice(x, from, -1), tf.slice(x, [0, 0, 0, 0], upTo)], axis);
  };
  return (x) => tf.tidy(() => roll(roll(x, 1, dy), 2, dx));
}

export function ganStep(n: GanNetworks, batch: Batch): GanStepLosses {
  const lr = tf.tensor4d(batch.input, batch.inputShape);
  const hr = tf.tensor4d(batch.target, batch.targetShape);
  const seen = viewOfStep(n);
  const hrSeen = seen(hr);
  try {
    // The discriminator sees a generator output it cannot change.
    const fake = tf.tidy(() => seen(n.generator.apply(lr, { training: true }) as tf.Tensor4D));
    const dLoss = minimizeIfFinite(n.discriminatorOptimizer, n.discriminatorVars, () =>
      discriminatorLoss(
        n.discriminator.apply(hrSeen, { training: true }) as tf.Tensor,
        n.discriminator.apply(fake, { training: true }) as tf.Tensor,
      ),
    );
    fake.dispose();

    let content = 0;
    let adversarial = 0;
    let pixel: number | undefined;
    const gLoss = minimizeIfFinite(n.generatorOptimizer, n.generatorVars, () => {
      const sr = n.generator.apply(lr, { training: true }) as tf.Tensor4D;
      const srSeen = seen(sr);
      const c = n.content(srSeen, hrSeen);
      const a = generatorAdversarialLoss(n.discriminator.apply(srSeen, { training: true }) as tf.Tensor);
      content = c.dataSync()[0];
      adversarial = a.dataSync()[0];
      const loss = c.add(a.mul(n.adversarialWeight)) as tf.Scalar;
      if (!n.pixelWeight) return loss;
      const p = pixelLoss(n.pixelLoss ?? 'l1', sr, hr);
      pixel = p.dataSync()[0];
      return loss.add(p.mul(n.pixelWeight)) as tf.Scalar;
    });
    return { discriminator: dLoss, content, adversarial, generator: gLoss, ...(pixel === undefined ? {} : { pixel }) };
  } finally {
    tf.dispose(hrSeen === hr ? [lr, hr] : [lr, hr, hrSeen]);
  }
}

/** The VGG19 weights of the content loss: the config's, else those `sr data download vgg19` installed. */
export function vggSource(options: GanOptions): string {
  if (options.vgg) return options.vgg;
  const installed = weightsStatus(vgg19Weights, datasetsRoot());
  if (installed.marker) return installed.file;
  throw new SrError(
    `the ${options.content_loss} content loss needs VGG19 weights: run \`sr data download vgg19\`, or set gan.vgg in the config to a TensorFlow.js VGG19 folder or Keras .h5 file`,
  );
}

export async function contentLoss(options: GanOptions): Promise<{ loss: ContentLoss; features?: tf.LayersModel }> {
  if (options.content_loss === 'mse') return { loss: mseContentLoss() };
  const features = await loadVggFeatures(vggSource(options), options.content_loss);
  return { loss: vggContentLoss(features), features };
}

async function ganTask(
  config: TrainingConfig,
  resumed: LoadedCheckpoint | undefined,
  engineOptions: EngineOptions = {},
): Promise<TrainingTask> {
  const options = config.gan!;
  // Load VGG first: it is what most often is missing, and nothing has been built yet to clean up.
  const content = await contentLoss(options);
  let generator: tf.LayersModel;
  let discriminator: tf.LayersModel;
  let init: InitOrigin | undefined;
  if (resumed) {
    generator = resumed.networks.model;
    discriminator = resumed.networks.discriminator;
  } else {
    generator = getArchitecture(config.model).build(config.network, config.scale, config.train.seed);
    try {
      init = await initialWeights(config, generator);
    } catch (err) {
      generator.dispose();
      content.features?.dispose();
      throw err;
    }
    const hrPatch = config.data.patch_size * config.scale;
    discriminator = buildDiscriminator({ patch_size: hrPatch, ...options.discriminator }, config.train.seed);
  }
  // Callers of the library get tfjs unless they ask; `sr train` asks for auto by default.
  const decision = chooseTrainingEngine(
    [generator, discriminator, ...(content.features ? [content.features] : [])],
    engineOptions.engine ?? 'tfjs',
  );
  if (decision.engine === 'onnx') {
    const onnx = onnxGanTask(generator, discriminator, content.features, config, engineOptions);
    return {
      network: generator,
      companions: { discriminator },
      optimizers: onnx.optimizers,
      step: onnx.step,
      sync: onnx.sync,
      dispose: () => {
        void onnx.dispose();
        content.features?.dispose();
      },
      engine: { name: 'onnx' },
      init,
    };
  }
  const networks = ganNetworks(generator, discriminator, content.loss, config);
  return {
    engine: { name: 'tfjs', note: decision.note },
    network: generator,
    companions: { discriminator },
    optimizers: { model: networks.generatorOptimizer, discriminator: networks.discriminatorOptimizer },
    step: async (batch) => {
      const l = ganStep(networks, batch);
      return {
        loss: l.generator,
        content: l.content,
        adversarial: l.adversarial,
        d_loss: l.discriminator,
        ...(l.pixel === undefined ? {} : { pixel: l.pixel }),
      };
    },
    dispose: () => content.features?.dispose(),
    init,
  };
}

export const MISSING_INIT =
  'the adversarial phase starts from a pre-trained generator: give --init <SRResNet checkpoint> (from --phase pretrain)';

/** SRGAN's second phase: `config.gan` set, `config.init` the pre-trained generator (unless resuming). */
export async function trainGan(options: TrainRunOptions): Promise<TrainSummary> {
  const { config } = options;
  if (!config.gan) throw new SrError('trainGan needs a config with a gan section');
  if (!config.init && !fs.existsSync(path.join(options.out, 'last'))) throw new UsageError(MISSING_INIT);
  return runTraining({ ...options, modelLabel: options.modelLabel ?? 'srgan' }, ['model', 'discriminator'], (resumed) =>
    ganTask(config, resumed, options),
  );
}

/** What each phase of an SRGAN config trains, as its weights are known. */
const PHASE_LABEL: Record<SrganPhase, string> = { pretrain: 'srresnet', gan: 'srgan' };

/**
 * The `srgan` recipe: two phases from one config file (configs/srgan-*.yaml). `pretrain` trains the
 * SRResNet generator with a pixel loss (the pixel recipe's task); `gan` continues it against the
 * discriminator. A run folder holds one phase, and its config.json says which.
 */
export const srganRecipe: TrainingRecipe = {
  name: 'srgan',
  description: 'SRGAN: --phase pretrain (the SRResNet generator, MSE), then --phase gan (VGG content + adversarial)',
  handles: (command) => command === 'srgan',
  config: () => ({
    command: 'srgan',
    phases: SRGAN_PHASES,
    architecture: 'srresnet',
    phaseOfRun: (raw) => (raw.gan ? 'gan' : 'pretrain'),
    fromFile: (raw, source, phase) => srganPhaseConfig(checkSchema(srganConfigSchema, raw, source), phase as SrganPhase),
    label: (config) => PHASE_LABEL[config.gan ? 'gan' : 'pretrain'],
    check(config) {
      if (!config.gan) return;
      if (!config.init && !fs.existsSync(path.join(config.out!, 'last'))) throw new UsageError(MISSING_INIT);
      // The VGG19 weights are checked before minutes go into loading the training images.
      if (config.gan.content_loss !== 'mse') locateVggWeights(vggSource(config.gan));
    },
  }),
  train: (options) =>
    options.config.gan ? trainGan(options) : trainSupervised({ ...options, modelLabel: options.modelLabel ?? PHASE_LABEL.pretrain }),
};
