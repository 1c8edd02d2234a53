/**
 * SRResNet, the SRGAN generator (Ledig et al. 2017): a 9x9 head, B residual blocks with batch
 * normalisation and PReLU, a long skip, sub-pixel upsamplers, and a 9x9 tail with tanh (or, as an
 * option, a linear tail added to the bilinearly upscaled input, as BasicSR's MSRResNet has it).
 * Input: LR RGB in [0, 1]; output: HR RGB in [0, 1] (tanh's [-1, 1] mapped back, or the skip's sum).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { DepthToSpace, ResizeBilinear, ScaleShift, UpsampleNearest } from './layers';
import { registerArchitecture, seeds } from './registry';

const options = z
  .object({
    blocks: z.number().int().min(1).default(16),
    width: z.number().int().positive().default(64),
    /** Kernel of the last convolution (the paper's 9; BasicSR's MSRResNet uses 3, a tenth of the cost). */
    tail_kernel: z.number().int().positive().default(9),
    /**
     * 'none' (the paper): a tanh output. 'bilinear' (BasicSR's MSRResNet): a linear output added to
     * the bilinearly upscaled input, so training starts from interpolation instead of grey, which
     * matters on a CPU's budget of iterations.
     */
    global_skip: z.enum(['none', 'bilinear']).default('none'),
    /**
     * How the sub-pixel convolutions start. 'icnr' (Aitken et al. 2017): the f*f outputs that
     * depth-to-space spreads over one f x f cell share one kernel, so an untrained upsampler is
     * nearest-neighbour upscaling of a convolution and starts without a checkerboard. 'he': every
     * output channel its own He-normal kernel.
     */
    upsample_init: z.enum(['icnr', 'he']).default('icnr'),
    /**
     * 'subpixel' (the paper): a convolution to f*f times the channels, then depth-to-space.
     * 'nearest' (ESRGAN's generator): nearest-neighbour upscaling, then a convolution at the new
     * resolution. It has no kernel of its own per sub-pixel position, with which a sub-pixel layer
     * can learn a fixed grid under a GAN loss (docs/training.md, "The SRGAN grid").
     */
    upsample: z.enum(['subpixel', 'nearest']).default('subpixel'),
  })
  .strict();

export type SrresnetOptions = z.infer<typeof options>;

type T = tf.SymbolicTensor;

type Conv = (filters: number, kernelSize: number, name: string) => tf.layers.Layer;

/** A conv factory whose layers draw their initial weights from one run's seed, in build order. */
function seededConv(seed?: number): Conv {
  const nextSeed = seeds(seed);
  return (filters, kernelSize, name) =>
    tf.layers.conv2d({ filters, kernelSize, padding: 'same', name, kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }) });
}

const bn = (name: string) => tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-3 });
const prelu = (name: string) => tf.layers.prelu({ sharedAxes: [1, 2], name, alphaInitializer: tf.initializers.constant({ value: 0.25 }) });

function residualBlock(conv: Conv, x: T, width: number, i: number): T {
  let y = conv(width, 3, `res${i}_conv1`).apply(x) as T;
  y = bn(`res${i}_bn1`).apply(y) as T;
  y = prelu(`res${i}_prelu`).apply(y) as T;
  y = conv(width, 3, `res${i}_conv2`).apply(y) as T;
  y = bn(`res${i}_bn2`).apply(y) as T;
  return tf.layers.add({ name: `res${i}_add` }).apply([x, y]) as T;
}

/** The sub-pixel steps for a scale: x4 = two x2 steps, x2 and x3 one step each. */
export function upsampleFactors(scale: number): number[] {
  if (scale === 4) return [2, 2];
  if (scale === 2 || scale === 3) return [scale];
  throw new Error(`SRResNet supports scales 2, 3 and 4, not ${scale}`);
}

/**
 * An ICNR kernel for a sub-pixel convolution with `width` * factor^2 outputs: one He-normal kernel
 * per shuffled channel, repeated for each of the factor^2 positions of its cell. Depth-to-space
 * (DCR, as tf.depthToSpace) reads output channel (dy * factor + dx) * width + c as channel c at
 * (dy, dx), so tiling along the output axis puts the copies where that cell's pixels come from.
 */
export function icnrKernel(kernelSize: number, inChannels: number, width: number, factor: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const base = tf.initializers.heNormal({ seed }).apply([kernelSize, kernelSize, inChannels, width]) as tf.Tensor4D;
    return tf.tile(base, [1, 1, 1, factor * factor]);
  });
}

function subpixelUpsampler(conv: Conv, x: T, width: number, factor: number, i: number): T {
  let y = conv(width * factor * factor, 3, `up${i}_conv`).apply(x) as T;
  y = new DepthToSpace({ blockSize: factor, name: `up${i}_shuffle` }).apply(y) as T;
  return prelu(`up${i}_prelu`).apply(y) as T;
}

function nearestUpsampler(conv: Conv, x: T, width: number, factor: number, i: number): T {
  let y = new UpsampleNearest({ factor, name: `up${i}_nearest` }).apply(x) as T;
  y = conv(width, 3, `up${i}_conv`).apply(y) as T;
  return prelu(`up${i}_prelu`).apply(y) as T;
}

export const srresnet = registerArchitecture<SrresnetOptions>({
  name: 'srresnet',
  description: 'SRResNet / SRGAN generator: residual blocks, BN, PReLU, sub-pixel (or nearest + conv) upsampling (RGB)',
  scales: [2, 3, 4],
  inputSpace: 'rgb',
  inputIsUpsampled: false,
  options,
  shrink: () => 0,
  // The last upsampler ends with width channels at the output resolution (a sub-pixel one after width * f^2 at 1/f of it).
  featureChannels: (o) => o.width,
  initOnly: ['upsample_init'],
  build(o, scale, seed) {
    const model = buildLayers(o, scale, seed);
    if (o.upsample === 'subpixel' && o.upsample_init === 'icnr') {
      const nextSeed = seeds(seeds(seed)() + 7717);
      upsampleFactors(scale).forEach((f, i) => {
        const layer = model.getLayer(`up${i}_conv`);
        const [, bias] = layer.getWeights();
        const icnr = icnrKernel(3, o.width, o.width, f, nextSeed());
        layer.setWeights([icnr, bias]);
        icnr.dispose();
      });
    }
    return model;
  },
});

function buildLayers(o: SrresnetOptions, scale: number, seed?: number): tf.LayersModel {
  const conv = seededConv(seed);
  const input = tf.input({ shape: [null, null, 3], name: 'lr' });
  const head = prelu('head_prelu').apply(conv(o.width, 9, 'head_conv').apply(input)) as T;
  let x = head;
  for (let i = 0; i < o.blocks; i++) x = residualBlock(conv, x, o.width, i);
  x = bn('body_bn').apply(conv(o.width, 3, 'body_conv').apply(x)) as T;
  x = tf.layers.add({ name: 'long_skip' }).apply([head, x]) as T;
  const upsampler = o.upsample === 'nearest' ? nearestUpsampler : subpixelUpsampler;
  upsampleFactors(scale).forEach((f, i) => (x = upsampler(conv, x, o.width, f, i)));
  const tailSeed = seeds(seed)() + 9973;
  if (o.global_skip === 'bilinear') {
    // A small residual at the start (a hundredth of He's variance): early outputs stay near the interpolation.
    x = tf.layers
      .conv2d({
        filters: 3,
        kernelSize: o.tail_kernel,
        padding: 'same',
        name: 'tail_conv',
        kernelInitializer: tf.initializers.varianceScaling({ scale: 0.01, seed: tailSeed }),
      })
      .apply(x) as T;
    const base = new ResizeBilinear({ factor: scale, name: 'base_upscale' }).apply(input) as T;
    const out = tf.layers.add({ name: 'global_skip' }).apply([base, x]) as T;
    return tf.model({ inputs: input, outputs: out, name: 'srresnet' });
  }
  // tanh output layer: Glorot's initialisation keeps it out of saturation at the start.
  x = tf.layers
    .conv2d({
      filters: 3,
      kernelSize: o.tail_kernel,
      padding: 'same',
      activation: 'tanh',
      name: 'tail_conv',
      kernelInitializer: tf.initializers.glorotUniform({ seed: tailSeed }),
    })
    .apply(x) as T;
  const out = new ScaleShift({ scale: 0.5, offset: 0.5, name: 'to_unit' }).apply(x) as T;
  return tf.model({ inputs: input, outputs: out, name: 'srresnet' });
}

/**
 * A deeper SRResNet that computes exactly what `source` computes: the source's layers keep their
 * weights (matched by name) and each added block, after the last one, has its second batch norm's
 * scale and offset at zero, so it adds nothing until training grows it (zero-initialised residual
 * branches, Goyal et al. 2017). A way to add capacity to a trained network without starting over.
 */
export function deepenSrresnet(
  source: tf.LayersModel,
  options: SrresnetOptions,
  scale: number,
  blocks: number,
  seed?: number,
): tf.LayersModel {
  if (blocks <= options.blocks) throw new Error(`deepening needs more than the ${options.blocks} blocks the network has, got ${blocks}`);
  const grown = srresnet.build({ ...options, blocks }, scale, seed);
  for (const layer of grown.layers) {
    const match = source.layers.find((l) => l.name === layer.name);
    if (match) {
      layer.setWeights(match.getWeights());
    } else if (/^res\d+_bn2$/.test(layer.name)) {
      // Weights: scale, offset, moving mean, moving variance.
      const [gamma, beta, mean, variance] = layer.getWeights();
      const zeros = [tf.zerosLike(gamma), tf.zerosLike(beta)];
      layer.setWeights([...zeros, mean, variance]);
      tf.dispose(zeros);
    }
  }
  return grown;
}
