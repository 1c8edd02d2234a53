/**
 * Copies a training checkpoint into checkpoints/<name>-x<scale>/ without its optimizer slots and
 * training state (what `--model <name>` loads), keeping meta.json's record of how it was trained.
 *
 *   npx ts-node --transpile-only scripts/ship-weights.ts runs/srcnn-x3/best srcnn
 */
import * as path from 'path';
import { initBackend, shutdownBackend } from '../src/runtime/tfjs';
import { shippedCheckpointsDir } from '../src/infer';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../src/checkpoint';

/**
 * Checkpoints written before run.ts recorded each checkpoint's own score put the run's best score in
 * every `last/`: a score from another iteration is dropped rather than shipped as these weights'.
 */
function ownValidation(meta: CheckpointMeta): CheckpointMeta['validation'] {
  return meta.validation?.iteration === meta.training?.iterations ? meta.validation : undefined;
}

async function main(): Promise<void> {
  const [source, name] = process.argv.slice(2);
  if (!source || !name) throw new Error('usage: ship-weights.ts CHECKPOINT NAME');
  await initBackend({ backend: 'cpu' });
  const { meta, networks } = await loadCheckpoint(source);
  const target = path.join(shippedCheckpointsDir(), `${name}-x${meta.scale}`);
  await saveCheckpoint(target, { meta: { ...meta, model: name, validation: ownValidation(meta) }, networks: { model: networks.model } });
  process.stdout.write(
    `${target}: ${meta.architecture} x${meta.scale}, ${meta.training?.iterations} iterations, ${meta.training?.seconds} s\n`,
  );
  shutdownBackend();
}

main().catch((err) => {
  process.stderr.write(`ship-weights: ${err.message}\n`);
  process.exitCode = 1;
});
