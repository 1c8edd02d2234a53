/**
 * Writes a wider copy of a trained SRResNet checkpoint that computes the same function
 * (Net2WiderNet, Chen et al. 2016), optionally with a larger tail kernel. Start a run from it with
 * `--init` and a config naming the new width (and tail kernel).
 *
 *   npx ts-node --transpile-only scripts/widen-srresnet.ts checkpoints/training/srresnet16-x4/best runs/srresnet64-init \
 *     --width 64 --tail-kernel 9 [--seed 1] [--noise 0.1]
 *
 * Every feature map of width w becomes one of width W: its channel j >= w is a copy of channel g(j)
 * (the producing convolution's filter, bias, batch norm and PReLU slope are copied), and every
 * consumer splits the incoming weight of channel c among c's k copies in proportions that sum to 1,
 * so its sums, and so the network's output, are unchanged. The proportions are drawn near 1/k for
 * each weight (seeded), not exactly 1/k: copies then receive different gradients and can grow
 * apart in training (with equal shares they would stay copies forever).
 *
 * One mapping g covers the whole trunk (head, every residual block's output, the long skip), as the
 * residual additions add channel to channel; each block's inner map and each upsampler's output have
 * their own. An upsampler's convolution makes f*f*w channels that depth-to-space (DCR) turns into w
 * channels at f times the resolution, shuffled channel c at offset (dy, dx) coming from channel
 * (dy*f + dx)*w + c: widened, its channel (dy*f + dx)*W + j is the old (dy*f + dx)*w + g(j).
 *
 * A larger tail kernel is the old one zero-padded around its centre: under 'same' padding the
 * centre tap still meets the same pixel, and the added taps (over image or padding) are zero.
 */
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/runtime/tfjs';
import { srresnet, upsampleFactors, type SrresnetOptions } from '../src/models/srresnet';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../src/checkpoint';
import { Rng } from '../src/core/rng';
import { SrError, UsageError } from '../src/core/errors';

export interface WidenOptions {
  /** The new width W (>= the source's). */
  width: number;
  /** The new tail kernel (>= the source's, of the same parity); default: the source's. */
  tailKernel?: number;
  /** Seeds the channel mappings and the split proportions. */
  seed?: number;
  /**
   * How far the split proportions stray from 1/k: each copy's share is (1 + u) / sum(1 + u) with u
   * uniform in [-noise, noise]. 0: equal shares (the copies then stay copies under training).
   */
  noise?: number;
}

export const DEFAULT_NOISE = 0.1;

/** Which old channel each new channel copies: the first w are themselves, the rest drawn at random. */
function channelMap(from: number, to: number, rng: Rng): number[] {
  const map = Array.from({ length: from }, (_, c) => c);
  // Drawn from successive shuffles of the old channels, so each is copied as evenly as W allows.
  let pool: number[] = [];
  while (map.length < to) {
    if (pool.length === 0) {
      pool = Array.from({ length: from }, (_, c) => c);
      for (let i = from - 1; i > 0; i--) {
        const k = rng.int(i + 1);
        [pool[i], pool[k]] = [pool[k], pool[i]];
      }
    }
    map.push(pool.pop()!);
  }
  return map;
}

/** The new channels copying each old channel, by old channel. */
function copiesOf(map: number[], from: number): number[][] {
  const copies: number[][] = Array.from({ length: from }, () => []);
  map.forEach((c, j) => copies[c].push(j));
  return copies;
}

/** `values` (a tensor whose last axis is the channels) with its channels picked by `map`. */
function pickLast(values: tf.Tensor, map: number[]): tf.Tensor {
  const data = values.dataSync();
  const channels = values.shape[values.shape.length - 1];
  const rows = data.length / channels;
  const out = new Float32Array(rows * map.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < map.length; j++) out[r * map.length + j] = data[r * channels + map[j]];
  return tf.tensor(out, [...values.shape.slice(0, -1), map.length]);
}

interface KernelPlan {
  /** Old input channel of each new input channel; undefined: the inputs are not widened. */
  inMap?: number[];
  /** Old output channel of each new output channel. */
  outMap: number[];
  /** Zeros added on each side of the kernel's height and width. */
  pad: number;
}

/**
 * A conv kernel [kh, kw, in, out] widened by `plan`: output columns copied, each input row split
 * among its copies in seeded proportions that sum to 1 for every weight.
 */
function widenKernel(kernel: tf.Tensor, plan: KernelPlan, rng: Rng, noise: number): tf.Tensor {
  const [kh, kw, cin, cout] = kernel.shape;
  const old = kernel.dataSync();
  const inMap = plan.inMap ?? Array.from({ length: cin }, (_, c) => c);
  const copies = copiesOf(inMap, cin);
  const [nh, nw, nin, nout] = [kh + 2 * plan.pad, kw + 2 * plan.pad, inMap.length, plan.outMap.length];
  const out = new Float32Array(nh * nw * nin * nout);
  const shares = new Float64Array(Math.max(...copies.map((c) => c.length)));
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const tap = ((y + plan.pad) * nw + (x + plan.pad)) * nin;
      for (let c = 0; c < cin; c++) {
        const group = copies[c];
        for (let o = 0; o < nout; o++) {
          const value = old[((y * kw + x) * cin + c) * cout + plan.outMap[o]];
          if (group.length === 1) {
            out[(tap + group[0]) * nout + o] = value;
            continue;
          }
          let sum = 0;
          for (let i = 0; i < group.length; i++) sum += shares[i] = 1 + noise * (2 * rng.next() - 1);
          for (let i = 0; i < group.length; i++) out[(tap + group[i]) * nout + o] = (value * shares[i]) / sum;
        }
      }
    }
  }
  return tf.tensor4d(out, [nh, nw, nin, nout]);
}

function checkRequest(options: SrresnetOptions, width: number, tailKernel: number, noise: number): void {
  if (!Number.isInteger(width) || width < options.width) {
    throw new SrError(`widening needs a width of at least the ${options.width} channels the network has, got ${width}`);
  }
  if (!Number.isInteger(tailKernel) || tailKernel < options.tail_kernel || (tailKernel - options.tail_kernel) % 2 !== 0) {
    throw new SrError(
      `the tail kernel can grow from ${options.tail_kernel} only to a larger one of the same parity (the old one centred in it), got ${tailKernel}`,
    );
  }
  if (width === options.width && tailKernel === options.tail_kernel) {
    throw new SrError(`nothing to do: the network already has width ${width} and tail kernel ${tailKernel}`);
  }
  if (!(noise >= 0 && noise < 1)) throw new SrError(`--noise must be in [0, 1), got ${noise}`);
}

/**
 * An SRResNet of width `target.width` (and tail kernel `target.tailKernel`) computing what `source`
 * (built with `options` for `scale`) computes, up to float rounding.
 */
export function widenSrresnet(source: tf.LayersModel, options: SrresnetOptions, scale: number, target: WidenOptions): tf.LayersModel {
  const w = options.width;
  const width = target.width;
  const tailKernel = target.tailKernel ?? options.tail_kernel;
  const noise = target.noise ?? DEFAULT_NOISE;
  checkRequest(options, width, tailKernel, noise);
  checkShapes(source, options, scale);

  const rng = new Rng(target.seed ?? 1);
  const trunk = channelMap(w, width, rng);
  const factors = upsampleFactors(scale);
  const inner = Array.from({ length: options.blocks }, () => channelMap(w, width, rng));
  const shuffled = factors.map(() => channelMap(w, width, rng));
  // Layer name -> how its weights widen: the conv's kernel plan, or the channel map of a per-channel layer.
  const convs = new Map<string, KernelPlan>();
  const perChannel = new Map<string, number[]>();
  convs.set('head_conv', { outMap: trunk, pad: 0 });
  perChannel.set('head_prelu', trunk);
  for (let i = 0; i < options.blocks; i++) {
    convs.set(`res${i}_conv1`, { inMap: trunk, outMap: inner[i], pad: 0 });
    perChannel.set(`res${i}_bn1`, inner[i]);
    perChannel.set(`res${i}_prelu`, inner[i]);
    convs.set(`res${i}_conv2`, { inMap: inner[i], outMap: trunk, pad: 0 });
    perChannel.set(`res${i}_bn2`, trunk);
  }
  convs.set('body_conv', { inMap: trunk, outMap: trunk, pad: 0 });
  perChannel.set('body_bn', trunk);
  let incoming = trunk;
  factors.forEach((f, i) => {
    // DCR: channel (dy*f + dx)*C + c lands on channel c at offset (dy, dx).
    const outMap: number[] = [];
    for (let s = 0; s < f * f; s++) for (const c of shuffled[i]) outMap.push(s * w + c);
    convs.set(`up${i}_conv`, { inMap: incoming, outMap, pad: 0 });
    perChannel.set(`up${i}_prelu`, shuffled[i]);
    incoming = shuffled[i];
  });
  convs.set('tail_conv', { inMap: incoming, outMap: [0, 1, 2], pad: (tailKernel - options.tail_kernel) / 2 });

  const wide = srresnet.build({ ...options, width, tail_kernel: tailKernel }, scale, target.seed);
  try {
    for (const layer of wide.layers) {
      if (layer.weights.length === 0) continue;
      const old = source.getLayer(layer.name).getWeights();
      const conv = convs.get(layer.name);
      const map = perChannel.get(layer.name);
      let weights: tf.Tensor[];
      if (conv) {
        const [kernel, bias] = old;
        weights = [widenKernel(kernel, conv, rng, noise), pickLast(bias, conv.outMap)];
      } else if (map) {
        // Batch norm: scale, offset, moving mean, moving variance; PReLU: its slopes [1, 1, C].
        weights = old.map((t) => pickLast(t, map));
      } else {
        throw new SrError(`widening does not know SRResNet layer '${layer.name}'`);
      }
      layer.setWeights(weights);
      tf.dispose(weights);
    }
  } catch (err) {
    wide.dispose();
    throw err;
  }
  return wide;
}

/** Refuses a model whose layers and weight shapes are not those of an SRResNet with `options`. */
function checkShapes(source: tf.LayersModel, options: SrresnetOptions, scale: number): void {
  const expected = srresnet.build(options, scale, 1);
  try {
    const shapes = (m: tf.LayersModel) => m.layers.flatMap((l) => l.weights.map((w) => `${l.name} ${w.shape.join('x')}`)).join(', ');
    if (shapes(source) !== shapes(expected)) {
      throw new SrError(`its layers are not those of an SRResNet x${scale} with ${JSON.stringify(options)}`);
    }
  } finally {
    expected.dispose();
  }
}

export interface WidenedCheckpoint {
  from: SrresnetOptions;
  options: SrresnetOptions;
  meta: CheckpointMeta;
}

/**
 * Loads the SRResNet checkpoint `sourceDir`, widens it and writes it to `targetDir` (atomically, as
 * every checkpoint is). Its meta keeps the source's record of training, as grow-srresnet.ts does
 * (a run started from it with `--init` records the source's iterations), with the new options, and
 * `widened` saying where the weights came from and how.
 */
export async function widenCheckpoint(sourceDir: string, targetDir: string, target: WidenOptions): Promise<WidenedCheckpoint> {
  if (path.resolve(sourceDir) === path.resolve(targetDir)) throw new SrError(`the widened checkpoint would overwrite ${sourceDir}`);
  const { meta, networks } = await loadCheckpoint(sourceDir);
  const model = networks.model;
  try {
    if (meta.architecture !== 'srresnet') throw new SrError(`${sourceDir} holds ${meta.architecture}, not srresnet`);
    const parsed = srresnet.options.safeParse(meta.options);
    if (!parsed.success) throw new SrError(`${sourceDir}: its SRResNet options ${JSON.stringify(meta.options)} are not valid`);
    const from = parsed.data;
    // The channel mapping below follows depth-to-space's layout.
    if (from.upsample !== 'subpixel') throw new SrError(`${sourceDir}: only sub-pixel upsamplers can be widened, not '${from.upsample}'`);
    let wide: tf.LayersModel;
    try {
      wide = widenSrresnet(model, from, meta.scale, target);
    } catch (err) {
      if (err instanceof SrError) throw new SrError(`${sourceDir}: ${err.message}`);
      throw err;
    }
    try {
      const options = srresnet.options.parse({ ...from, width: target.width, tail_kernel: target.tailKernel ?? from.tail_kernel });
      const widened: CheckpointMeta['widened'] = {
        from: sourceDir,
        width: [from.width, options.width],
        tail_kernel: [from.tail_kernel, options.tail_kernel],
        seed: target.seed ?? 1,
        noise: target.noise ?? DEFAULT_NOISE,
      };
      const out = { ...meta, options, validation: undefined, createdAt: new Date().toISOString(), widened };
      await saveCheckpoint(targetDir, { meta: out, networks: { model: wide } });
      return { from, options, meta: out };
    } finally {
      wide.dispose();
    }
  } finally {
    model.dispose();
  }
}

const USAGE = 'usage: widen-srresnet.ts CHECKPOINT OUT --width W [--tail-kernel K] [--seed N] [--noise A]';

function integer(value: string | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer of at least ${min}, got '${value}'`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { width: { type: 'string' }, 'tail-kernel': { type: 'string' }, seed: { type: 'string' }, noise: { type: 'string' } },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [source, out] = positionals;
  const width = integer(values.width, 'width');
  if (positionals.length !== 2 || width === undefined) throw new UsageError(USAGE);
  const noise = values.noise === undefined ? DEFAULT_NOISE : Number(values.noise);
  const target: WidenOptions = {
    width,
    tailKernel: integer(values['tail-kernel'], 'tail-kernel'),
    seed: integer(values.seed, 'seed', 0) ?? 1,
    noise,
  };
  await initBackend({ backend: 'cpu' });
  try {
    const { from, options, meta } = await widenCheckpoint(source, out, target);
    process.stdout.write(
      `${out}: srresnet width ${from.width} -> ${options.width}, tail ${from.tail_kernel} -> ${options.tail_kernel}, ` +
        `from ${source} (${meta.training?.iterations ?? '?'} iterations)\n`,
    );
  } finally {
    shutdownBackend();
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`widen-srresnet: ${String(err?.message ?? err).split('\n')[0]}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
