/**
 * The SRGAN discriminator (Ledig et al. 2017): eight 3x3 convolutions from 64 to 512 channels with
 * strides alternating 1 and 2, batch normalisation (not on the first), LeakyReLU 0.2, a dense layer
 * of 1024, LeakyReLU, and one output. The output is a logit; the sigmoid lives in the loss
 * (sigmoid cross-entropy), which is the same function but numerically stable.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { seeds } from './registry';

export const discriminatorOptions = z
  .object({
    /** Side of the square HR patches it judges (96 in the paper). */
    patch_size: z.number().int().min(16).default(96),
    /** Channels of the first convolution; doubled every second one. */
    width: z.number().int().positive().default(64),
    dense: z.number().int().positive().default(1024),
  })
  .strict();

export type DiscriminatorOptions = z.infer<typeof discriminatorOptions>;

type T = tf.SymbolicTensor;

export function buildDiscriminator(o: DiscriminatorOptions, seed = 0): tf.LayersModel {
  const nextSeed = seeds(seed + 7919);
  const input = tf.input({ shape: [o.patch_size, o.patch_size, 3], name: 'hr' });
  const lrelu = (name: string) => tf.layers.leakyReLU({ alpha: 0.2, name });
  let x: T = input;
  for (let i = 0; i < 8; i++) {
    const filters = o.width * 2 ** Math.floor(i / 2);
    const strides = i % 2 === 0 ? 1 : 2;
    x = tf.layers
      .conv2d({
        filters,
        kernelSize: 3,
        strides,
        padding: 'same',
        name: `d_conv${i}`,
        kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
      })
      .apply(x) as T;
    if (i > 0) x = tf.layers.batchNormalization({ name: `d_bn${i}`, momentum: 0.9, epsilon: 1e-3 }).apply(x) as T;
    x = lrelu(`d_lrelu${i}`).apply(x) as T;
  }
  x = tf.layers.flatten({ name: 'd_flatten' }).apply(x) as T;
  x = tf.layers
    .dense({ units: o.dense, name: 'd_dense1', kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }) })
    .apply(x) as T;
  x = lrelu('d_lrelu_dense').apply(x) as T;
  const logit = tf.layers
    .dense({ units: 1, name: 'd_logit', kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }) })
    .apply(x) as T;
  return tf.model({ inputs: input, outputs: logit, name: 'discriminator' });
}
