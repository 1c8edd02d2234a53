/**
 * SRCNN (Dong et al. 2014/2016): patch extraction, non-linear mapping and reconstruction as three
 * convolutions on the bicubic-upscaled Y channel.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { registerArchitecture, seeds } from './registry';

const options = z
  .object({
    /** Kernel sizes of the three layers: 9-5-5 (default), 9-1-5, 9-3-5. */
    kernels: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]).default([9, 5, 5]),
    /** Filters of the first two layers. */
    widths: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([64, 32]),
    /** 'valid' as in the paper (output smaller, loss on the centre) or 'same' (zero padding). */
    padding: z.enum(['same', 'valid']).default('same'),
  })
  .strict();

export type SrcnnOptions = z.infer<typeof options>;

export const srcnn = registerArchitecture<SrcnnOptions>({
  name: 'srcnn',
  description: 'SRCNN: three convolutions on the bicubic-upscaled Y channel (MSE)',
  scales: [2, 3, 4],
  inputSpace: 'y',
  inputIsUpsampled: true,
  options,
  // Every layer runs on the upscaled image: the widest is the widest layer.
  featureChannels: (o) => Math.max(...o.widths),
  shrink: (o) => (o.padding === 'valid' ? (o.kernels[0] - 1) / 2 + (o.kernels[1] - 1) / 2 + (o.kernels[2] - 1) / 2 : 0),
  build(o, _scale, seed) {
    const nextSeed = seeds(seed);
    const input = tf.input({ shape: [null, null, 1], name: 'y' });
    const conv = (filters: number, kernelSize: number, activation: 'relu' | 'linear', name: string) =>
      tf.layers.conv2d({
        filters,
        kernelSize,
        padding: o.padding,
        activation,
        name,
        kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
      });
    let x = conv(o.widths[0], o.kernels[0], 'relu', 'patch_extraction').apply(input) as tf.SymbolicTensor;
    x = conv(o.widths[1], o.kernels[1], 'relu', 'mapping').apply(x) as tf.SymbolicTensor;
    // The reconstruction layer starts small so the first steps do not overshoot.
    const out = tf.layers
      .conv2d({
        filters: 1,
        kernelSize: o.kernels[2],
        padding: o.padding,
        name: 'reconstruction',
        kernelInitializer: tf.initializers.randomNormal({ stddev: 1e-3, seed: nextSeed() }),
      })
      .apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out, name: 'srcnn' });
  },
});
