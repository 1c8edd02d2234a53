/**
 * Writes a copy of a trained sub-pixel SRResNet checkpoint with nearest + conv upsamplers
 * (`network.upsample: nearest`), for a run to fine-tune with `--init`:
 *
 *   npx ts-node --transpile-only scripts/nearest-srresnet.ts checkpoints/training/srresnet-paper-x4/best runs/srresnet-nearest-init
 *
 * Every layer the two networks share (head, residual blocks, body, PReLUs, tail) keeps its weights.
 * An upsampler's sub-pixel convolution has width * f^2 outputs, one kernel per sub-pixel position
 * of each channel (DCR: position (dy, dx) of channel c is output (dy * f + dx) * width + c); its
 * replacement, run after nearest-neighbour upscaling, gets the mean of those f^2 kernels and biases.
 * ICNR starts the f^2 kernels equal, so this is where training left them on average. The two
 * upsamplers do not compute the same function (a 3x3 kernel spans 3 pixels before upscaling and
 * 3/f after), so the copy needs MSE fine-tuning before it matches its source.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/runtime/tfjs';
import { srresnet, upsampleFactors } from '../src/models/srresnet';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../src/checkpoint';
import { SrError, UsageError } from '../src/core/errors';

const USAGE = 'usage: nearest-srresnet.ts SOURCE_CHECKPOINT OUT_DIR';

/** The mean over the f*f sub-pixel positions of a sub-pixel conv's kernel [k, k, in, f*f*w] and bias [f*f*w]. */
export function meanOverPositions(kernel: tf.Tensor4D, bias: tf.Tensor1D, factor: number): [tf.Tensor4D, tf.Tensor1D] {
  return tf.tidy(() => {
    const [k, , inChannels, outChannels] = kernel.shape;
    const width = outChannels / (factor * factor);
    const meanKernel = kernel.reshape([k, k, inChannels, factor * factor, width]).mean(3) as tf.Tensor4D;
    const meanBias = bias.reshape([factor * factor, width]).mean(0) as tf.Tensor1D;
    return [meanKernel, meanBias];
  });
}

export async function convertToNearest(sourceDir: string, targetDir: string): Promise<CheckpointMeta> {
  if (path.resolve(sourceDir) === path.resolve(targetDir)) throw new SrError(`the converted checkpoint would overwrite ${sourceDir}`);
  const { meta, networks } = await loadCheckpoint(sourceDir);
  const source = networks.model;
  try {
    if (meta.architecture !== 'srresnet') throw new SrError(`${sourceDir} holds ${meta.architecture}, not srresnet`);
    const parsed = srresnet.options.safeParse(meta.options);
    if (!parsed.success) throw new SrError(`${sourceDir}: its SRResNet options ${JSON.stringify(meta.options)} are not valid`);
    if (parsed.data.upsample === 'nearest') throw new SrError(`${sourceDir} already upsamples with nearest + conv`);
    const options = { ...parsed.data, upsample: 'nearest' as const };
    const target = srresnet.build(options, meta.scale, 1);
    try {
      const upsamplers = new Map(upsampleFactors(meta.scale).map((f, i) => [`up${i}_conv`, f]));
      for (const layer of target.layers) {
        if (layer.weights.length === 0) continue;
        const weights = source.getLayer(layer.name).getWeights();
        const factor = upsamplers.get(layer.name);
        if (factor === undefined) {
          layer.setWeights(weights);
          continue;
        }
        const mean = meanOverPositions(weights[0] as tf.Tensor4D, weights[1] as tf.Tensor1D, factor);
        layer.setWeights(mean);
        tf.dispose(mean);
      }
      const out: CheckpointMeta = {
        ...meta,
        options,
        validation: undefined,
        createdAt: new Date().toISOString(),
        converted: { from: sourceDir, change: 'sub-pixel upsamplers -> nearest + conv (mean of the sub-pixel kernels)' },
      };
      await saveCheckpoint(targetDir, { meta: out, networks: { model: target } });
      return out;
    } finally {
      target.dispose();
    }
  } finally {
    source.dispose();
  }
}

async function main(): Promise<void> {
  const [source, out, ...rest] = process.argv.slice(2);
  if (!source || !out || rest.length > 0) throw new UsageError(USAGE);
  await initBackend({ backend: 'cpu' });
  try {
    const meta = await convertToNearest(source, out);
    process.stdout.write(
      `${out}: srresnet with nearest + conv upsamplers, from ${source} (${meta.training?.iterations ?? '?'} iterations)\n`,
    );
  } finally {
    shutdownBackend();
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`nearest-srresnet: ${String(err?.message ?? err).split('\n')[0]}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
