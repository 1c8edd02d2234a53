/**
 * The training configuration: YAML on disk, validated here so an unknown key or a wrong type is
 * reported with its full name before any work starts. Keys are snake_case, as in BasicSR's options.
 */
import { z } from 'zod';

const dataSchema = z
  .object({
    /** Folder (or folders) of HR training images. */
    train: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Folder of HR validation images (never the test set you report). */
    val: z.string().min(1).optional(),
    /** Input patch side: 33 for SRCNN (upsampled input), 24 LR pixels for SRResNet x4 (96 HR). */
    patch_size: z.number().int().min(4),
    batch_size: z.number().int().min(1),
    /** The 8 flips/rotations. */
    augment: z.boolean().default(true),
    /** Validate on at most this many images (all when absent). */
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

const trainSchema = z
  .object({
    iterations: z.number().int().min(1),
    optimizer: z.enum(['adam', 'sgd']).default('adam'),
    lr: z.number().positive(),
    /** SGD momentum (the SRCNN paper used plain SGD with 0.9). */
    momentum: z.number().min(0).max(1).default(0.9),
    schedule: scheduleSchema.default({}),
    loss: z.enum(['mse', 'l1']).default('mse'),
    val_every: z.number().int().min(1).default(1000),
    save_every: z.number().int().min(1).default(500),
    log_every: z.number().int().min(1).default(50),
    seed: z.number().int().default(1),
    /** What to do when the loss turns NaN or infinite. */
    on_nan: z.enum(['stop', 'skip']).default('stop'),
  })
  .strict();

export const supervisedConfigSchema = z
  .object({
    /** Architecture name from the model registry. */
    model: z.string().min(1),
    scale: z.number().int().min(2).max(4),
    /** Architecture options, validated by the model's own schema. */
    network: z.record(z.string(), z.unknown()).default({}),
    data: dataSchema,
    train: trainSchema,
    /** Where checkpoints and logs go. */
    out: z.string().min(1).optional(),
    /** Start from the weights of this checkpoint (same architecture and options; any scale). */
    init: z.string().min(1).optional(),
  })
  .strict();

export type SupervisedConfig = z.infer<typeof supervisedConfigSchema>;
export type SupervisedConfigInput = z.input<typeof supervisedConfigSchema>;
