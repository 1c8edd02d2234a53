/** Small checkpoints made in the tests: registry-built networks with every weight randomised. */
import * as tf from '@tensorflow/tfjs';
import { getArchitecture } from '../../src/models';
import { FORMAT, saveCheckpoint, type CheckpointMeta } from '../../src/checkpoint';

/**
 * Gives every weight a non-trivial random value (fresh networks have zero biases, identity batch
 * norms and a near-zero SRCNN reconstruction layer, which would make equivalence tests too easy).
 */
export function randomiseWeights(model: tf.LayersModel, seed: number): void {
  let s = seed * 101;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    const weights = layer.getWeights().map((w, i) =>
      tf.tidy(() => {
        if (kind === 'BatchNormalization') {
          // gamma, beta, moving mean, moving variance (> 0)
          const [lo, hi] = [
            [0.5, 1.5],
            [-0.2, 0.2],
            [-0.2, 0.2],
            [0.5, 2],
          ][i];
          return tf.randomUniform(w.shape, lo, hi, 'float32', s++);
        }
        if (kind === 'PReLU') return tf.randomUniform(w.shape, 0, 0.5, 'float32', s++);
        if (w.shape.length === 4) {
          const fanIn = w.shape[0] * w.shape[1] * w.shape[2];
          return tf.randomNormal(w.shape, 0, Math.sqrt(1 / fanIn), 'float32', s++);
        }
        return tf.randomUniform(w.shape, -0.1, 0.1, 'float32', s++);
      }),
    );
    if (weights.length) layer.setWeights(weights);
    tf.dispose(weights);
  }
}

export interface TestCheckpoint {
  architecture: 'srcnn' | 'srresnet';
  options: Record<string, unknown>;
  scale: number;
  seed?: number;
}

/** Builds, randomises and saves a network as a checkpoint folder; returns the (owned) model. */
export async function saveTestCheckpoint(dir: string, c: TestCheckpoint): Promise<tf.LayersModel> {
  const spec = getArchitecture(c.architecture);
  const options = spec.options.parse(c.options);
  const model = spec.build(options, c.scale, c.seed ?? 1);
  randomiseWeights(model, c.seed ?? 1);
  const meta: CheckpointMeta = {
    format: FORMAT,
    architecture: c.architecture,
    model: c.architecture,
    options,
    scale: c.scale,
    inputSpace: spec.inputSpace,
    inputIsUpsampled: spec.inputIsUpsampled,
    channels: spec.inputSpace === 'y' ? 1 : 3,
    createdAt: new Date(0).toISOString(),
  };
  await saveCheckpoint(dir, { meta, networks: { model } });
  return model;
}
