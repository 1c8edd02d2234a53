/**
 * Copies a training checkpoint into checkpoints/<name>-x<scale>/ without its optimizer slots and
 * training state (what `--model <name>` loads), keeping meta.json's record of how it was trained.
 *
 *   npx ts-node --transpile-only scripts/ship-weights.ts runs/srcnn-x3/best srcnn
 */
import * as path from 'path';
import { initBackend, shutdownBackend } from '../src/backend';
import { shippedCheckpointsDir } from '../src/infer';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../src/train/checkpoint';
import { readLog } from '../src/train/log';

/**
 * The validation score of these weights. A run's `last/` carries the run's best score, which may
 * belong to other weights: its own is the log's validation at the checkpoint's iteration, if any.
 */
function ownValidation(source: string, meta: CheckpointMeta): CheckpointMeta['validation'] {
  const iteration = meta.training?.iterations;
  if (!meta.validation || meta.validation.iteration === iteration) return meta.validation;
  const log = path.join(path.dirname(path.resolve(source)), 'log.jsonl');
  const entry = readLog(log).find((row) => row.iter === iteration && typeof row.val_psnr === 'number');
  return entry && { dataset: meta.validation.dataset, psnr: Number(entry.val_psnr), ssim: Number(entry.val_ssim), iteration: iteration! };
}

async function main(): Promise<void> {
  const [source, name] = process.argv.slice(2);
  if (!source || !name) throw new Error('usage: ship-weights.ts CHECKPOINT NAME');
  await initBackend({ backend: 'cpu' });
  const { meta, networks } = await loadCheckpoint(source);
  const target = path.join(shippedCheckpointsDir(), `${name}-x${meta.scale}`);
  await saveCheckpoint(target, { meta: { ...meta, model: name, validation: ownValidation(source, meta) }, networks: { model: networks.model } });
  process.stdout.write(`${target}: ${meta.architecture} x${meta.scale}, ${meta.training?.iterations} iterations, ${meta.training?.seconds} s\n`);
  shutdownBackend();
}

main().catch((err) => {
  process.stderr.write(`ship-weights: ${err.message}\n`);
  process.exitCode = 1;
});
