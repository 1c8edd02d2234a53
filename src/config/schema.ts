/**
 * The training configuration: YAML on disk, validated here so an unknown key or a wrong type is
 * reported with its full name before any work starts. Keys are snake_case, as in BasicSR's options.
 */
import { z } from 'zod';
import { CONTENT_LOSS_NAMES } from '../losses/content';
import { PIXEL_LOSS_NAMES } from '../losses/pixel';
import { DEFAULT_METRICS, METRIC_NAMES, type MetricName } from '../metrics/registry';

const dataSchema = z
  .object({
    /**
     * Folder (or folders) of HR training images, or the name of a dataset `sr data download`
     * fetched ('div2k'); `--data` gives it on the command line.
     */
    train: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /**
     * Folder of HR validation images (never the test set you report). Absent: the first
     * `val_images` (default 10) readable images of the first training folder validate and are held
     * out of training.
     */
    val: z.string().min(1).optional(),
    /** Input patch side: 33 for SRCNN (upsampled input), 24 LR pixels for SRResNet x4 (96 HR). */
    patch_size: z.number().int().min(4),
    batch_size: z.number().int().min(1),
    /** The 8 flips/rotations. */
    augment: z.boolean().default(true),
    /**
     * Validate on at most this many images (all when absent). These first readable images of `val`
     * are held out of training when `val` is also a training folder; without val_images a folder
     * named as both stays in both.
     */
    val_images: z.number().int().min(1).optional(),
  })
  .strict();

const scheduleSchema = z
  .object({
    /** Multiply the learning rate by gamma every `step` iterations... */
    step: z.number().int().min(1).optional(),
    /** ...or at these iterations (milestones, as BasicSR's MultiStepLR). */
    milestones: z.array(z.number().int().min(1)).optional(),
    gamma: z.number().positive().max(1).default(0.5),
  })
  .strict();

/** What a run's `best/` may be chosen by (see train/best.ts). */
export const BEST_BY = ['psnr', 'niqe'] as const;
export type BestBy = (typeof BEST_BY)[number];

/** The metrics a validation reports: those listed, and always PSNR and SSIM (both come from one comparison), in the registry's order. */
export function validationMetrics(listed: readonly MetricName[]): MetricName[] {
  return METRIC_NAMES.filter((m) => m === 'psnr' || m === 'ssim' || listed.includes(m));
}

const trainSchema = z
  .object({
    iterations: z.number().int().min(1),
    optimizer: z.enum(['adam', 'sgd']).default('adam'),
    lr: z.number().positive(),
    /** SGD momentum (the SRCNN paper used plain SGD with 0.9). */
    momentum: z.number().min(0).max(1).default(0.9),
    schedule: scheduleSchema.default({}),
    loss: z.enum(PIXEL_LOSS_NAMES).default('mse'),
    val_every: z.number().int().min(1).default(1000),
    save_every: z.number().int().min(1).default(500),
    log_every: z.number().int().min(1).default(50),
    seed: z.number().int().default(1),
    /** What to do when the loss turns NaN or infinite. */
    on_nan: z.enum(['stop', 'skip']).default('stop'),
    /** Write a PNG strip LR | bicubic | SR | HR of a fixed validation crop this often (default: at each validation). */
    strip_every: z.number().int().min(1).optional(),
    /** What each validation measures: psnr and ssim always; niqe (no-reference, lower is more natural) when listed. */
    val_metrics: z
      .array(z.enum(METRIC_NAMES as [MetricName, ...MetricName[]]))
      .default([...DEFAULT_METRICS])
      .transform(validationMetrics),
    /** What best/ holds: the highest validation PSNR, or the lowest NIQE among validations at or above best_min_psnr. */
    best_by: z.enum(BEST_BY).default('psnr'),
    /** best_by niqe: the PSNR floor (dB) a validation must reach to compete on NIQE. */
    best_min_psnr: z.number().optional(),
  })
  .strict();

type TrainSection = Pick<z.infer<typeof trainSchema>, 'val_metrics' | 'best_by' | 'best_min_psnr'>;

/** The checks across keys of one train section (its path is prefixed by the caller's). */
function checkBestChoice(train: TrainSection, ctx: z.RefinementCtx): void {
  const issue = (key: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message });
  if (train.best_by === 'niqe' && !train.val_metrics.includes('niqe')) {
    issue('best_by', "'niqe' needs niqe in val_metrics (val_metrics: [psnr, ssim, niqe])");
  }
  if (train.best_by === 'niqe' && train.best_min_psnr === undefined) {
    issue('best_by', "'niqe' needs best_min_psnr, the PSNR floor (dB) a validation must reach: NIQE alone rewards noise");
  }
  if (train.best_by === 'psnr' && train.best_min_psnr !== undefined) {
    issue('best_min_psnr', 'is the PSNR floor of best_by: niqe, and has no use with best_by: psnr');
  }
}

const discriminatorSchema = z
  .object({
    /** Channels of the first convolution (doubled every second one). */
    width: z.number().int().positive().default(64),
    /** Units of the hidden dense layer. */
    dense: z.number().int().positive().default(1024),
  })
  .strict();

/** What the adversarial phase adds to a generator's training: the SRGAN losses and the discriminator. */
const ganOptionsSchema = z
  .object({
    /** VGG19 features after ReLU of block5_conv4 (vgg54), block2_conv2 (vgg22), or the pixel MSE. */
    content_loss: z.enum(CONTENT_LOSS_NAMES).default('vgg54'),
    /** Weight of -log D(G(x)) next to the content loss (1e-3 in the paper). */
    adversarial_weight: z.number().positive().default(1e-3),
    /**
     * Weight of a pixel loss between SR and HR added to the generator's loss (0 in the paper;
     * BasicSR's SRGAN and ESRGAN recipes add an L1 term at 1e-2): it holds colours and PSNR while
     * the adversarial term adds texture.
     */
    pixel_weight: z.number().min(0).default(0),
    /** The pixel loss of pixel_weight. */
    pixel_loss: z.enum(PIXEL_LOSS_NAMES).default('l1'),
    /**
     * VGG and the discriminator see SR and HR rolled by a per-step offset below the scale (false in
     * the paper): their stride-2 grids then meet every sub-pixel phase of the generator's output in
     * turn, so a fixed grid of the scale's period stops paying (src/core/roll.ts).
     */
    roll_views: z.boolean().default(false),
    /** VGG19 weights: a TensorFlow.js model folder or a Keras .h5 (default: what `sr data download vgg19` installed). */
    vgg: z.string().min(1).optional(),
    discriminator: discriminatorSchema.default({}),
  })
  .strict();

export type GanOptions = z.infer<typeof ganOptionsSchema>;
export const GAN_OPTION_KEYS = Object.keys(ganOptionsSchema.shape) as (keyof GanOptions)[];

export const trainingConfigSchema = z
  .object({
    /** Architecture name from the model registry. */
    model: z.string().min(1),
    scale: z.number().int().min(2).max(4),
    /** Architecture options, validated by the model's own schema. */
    network: z.record(z.string(), z.unknown()).default({}),
    data: dataSchema,
    train: trainSchema.superRefine(checkBestChoice),
    /** Where checkpoints and logs go. */
    out: z.string().min(1).optional(),
    /** Start from the weights of this checkpoint (same architecture and options; any scale). */
    init: z.string().min(1).optional(),
    /** Present for SRGAN's adversarial phase: the network is the generator. */
    gan: ganOptionsSchema.optional(),
  })
  .strict();

export type TrainingConfig = z.infer<typeof trainingConfigSchema>;
export type TrainingConfigInput = z.input<typeof trainingConfigSchema>;

/** A phase may use its own batch size (the adversarial one costs several times more per patch). */
const phaseBatch = { batch_size: z.number().int().min(1).optional() };

/**
 * configs/srgan-*.yaml: one file for both phases of SRGAN. `pretrain` trains the generator
 * (SRResNet) with a pixel loss; `gan` continues it against the discriminator. Each phase runs as a
 * supervised config of its own (see srganPhaseConfig), which is what its run folder records.
 */
export const srganConfigSchema = z
  .object({
    model: z.literal('srgan'),
    scale: z.number().int().min(2).max(4),
    /** Generator (SRResNet) options. */
    network: z.record(z.string(), z.unknown()).default({}),
    data: dataSchema,
    pretrain: trainSchema.extend(phaseBatch).superRefine(checkBestChoice),
    gan: trainSchema
      .merge(ganOptionsSchema.omit({ discriminator: true }))
      .extend(phaseBatch)
      .strict()
      .superRefine(checkBestChoice),
    discriminator: discriminatorSchema.default({}),
  })
  .strict();

export type SrganConfig = z.infer<typeof srganConfigSchema>;
export const SRGAN_PHASES = ['pretrain', 'gan'] as const;
export type SrganPhase = (typeof SRGAN_PHASES)[number];

/** The supervised config one phase of an SRGAN config runs as (raw: overrides are applied after). */
export function srganPhaseConfig(file: SrganConfig, phase: SrganPhase): Record<string, unknown> {
  const { batch_size: batchSize, ...section } = phase === 'pretrain' ? file.pretrain : file.gan;
  const data = batchSize === undefined ? file.data : { ...file.data, batch_size: batchSize };
  const base = { model: 'srresnet', scale: file.scale, network: file.network, data };
  if (phase === 'pretrain') return { ...base, train: section };
  const train: Record<string, unknown> = {};
  const gan: Record<string, unknown> = { discriminator: file.discriminator };
  for (const [key, value] of Object.entries(section)) {
    if ((GAN_OPTION_KEYS as string[]).includes(key)) gan[key] = value;
    else train[key] = value;
  }
  return { ...base, train, gan };
}
