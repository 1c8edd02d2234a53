/**
 * FSRCNN (Dong, Loy and Tang, ECCV 2016): SRCNN made fast by working at LR resolution. Feature
 * extraction (5x5, d maps), shrinking (1x1 to s maps), m mapping layers (3x3, s maps), expanding
 * (1x1 back to d maps), each followed by a PReLU, then a 9x9 transposed convolution with stride =
 * scale that produces the HR Y channel. Input: the LR Y channel in [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { registerArchitecture, seeds } from './registry';

const SCALES = [2, 3, 4];

/** The transposed convolution's kernel: 9x9 at every scale, as in the paper. */
const DECONV_KERNEL = 9;

const options = z
  .object({
    /** Feature maps of feature extraction and expanding (the paper's d). */
    d: z.number().int().positive().default(56),
    /** Feature maps of the shrunk mapping space (the paper's s). */
    s: z.number().int().positive().default(12),
    /** Mapping layers (the paper's m). */
    m: z.number().int().min(0).default(4),
  })
  .strict();

export type FsrcnnOptions = z.infer<typeof options>;

type T = tf.SymbolicTensor;

/** A 'same' convolution and its per-channel PReLU, the paper's building block; weights drawn from `nextSeed`. */
function convPrelu(x: T, filters: number, kernelSize: number, name: string, nextSeed: () => number): T {
  const conv = tf.layers.conv2d({
    filters,
    kernelSize,
    padding: 'same',
    name,
    // He et al.'s initialisation is derived for PReLU networks; the paper uses it for these layers.
    kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
  });
  const prelu = tf.layers.prelu({
    sharedAxes: [1, 2],
    name: `${name}_prelu`,
    alphaInitializer: tf.initializers.constant({ value: 0.25 }),
  });
  return prelu.apply(conv.apply(x)) as T;
}

/**
 * The upsampling tail. 'same' padding gives exactly scale x the input (TensorFlow pads the implied
 * forward convolution by floor((k - scale) / 2) before, so an LR pixel lands at the centre of its
 * HR block for odd scales and half a pixel from it for even ones; the kernel learns the rest).
 */
function deconvolution(x: T, scale: number, seed: number): T {
  return tf.layers
    .conv2dTranspose({
      filters: 1,
      kernelSize: DECONV_KERNEL,
      strides: scale,
      padding: 'same',
      name: 'deconvolution',
      // The paper draws the last layer from N(0, 0.001): the first outputs stay near zero and do not overshoot.
      kernelInitializer: tf.initializers.randomNormal({ stddev: 1e-3, seed }),
    })
    .apply(x) as T;
}

export const fsrcnn = registerArchitecture<FsrcnnOptions>({
  name: 'fsrcnn',
  description: 'FSRCNN: convolutions with PReLU at LR resolution and a 9x9 transposed-convolution tail (Y channel)',
  scales: SCALES,
  inputSpace: 'y',
  inputIsUpsampled: false,
  options,
  shrink: () => 0,
  // d maps at 1/scale of the output resolution count d / scale^2; the scale is not known here, so
  // count the smallest one (the most memory per output pixel). The output itself has one channel.
  featureChannels: (o) => Math.max(1, Math.ceil(Math.max(o.d, o.s) / Math.min(...SCALES) ** 2)),
  build(o, scale, seed) {
    const nextSeed = seeds(seed);
    const input = tf.input({ shape: [null, null, 1], name: 'lr_y' });
    let x = convPrelu(input, o.d, 5, 'feature_extraction', nextSeed);
    x = convPrelu(x, o.s, 1, 'shrinking', nextSeed);
    for (let i = 0; i < o.m; i++) x = convPrelu(x, o.s, 3, `mapping${i}`, nextSeed);
    x = convPrelu(x, o.d, 1, 'expanding', nextSeed);
    const out = deconvolution(x, scale, nextSeed());
    return tf.model({ inputs: input, outputs: out, name: 'fsrcnn' });
  },
});
