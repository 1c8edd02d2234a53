/**
 * Writes a deeper copy of a trained SRResNet checkpoint (deepenSrresnet: the added blocks start as
 * identities, so the network's output is unchanged). Start a run from it with `--init` and a config
 * naming the new block count.
 *
 *   npx ts-node --transpile-only scripts/grow-srresnet.ts checkpoints/training/srresnet-x4/best 16 runs/srresnet16-init
 */
import { initBackend, shutdownBackend } from '../src/runtime/tfjs';
import { deepenSrresnet, srresnet, type SrresnetOptions } from '../src/models/srresnet';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint';

async function main(): Promise<void> {
  const [source, blocksArg, target] = process.argv.slice(2);
  const blocks = Number(blocksArg);
  if (!source || !target || !Number.isInteger(blocks)) throw new Error('usage: grow-srresnet.ts CHECKPOINT BLOCKS OUT');
  await initBackend({ backend: 'cpu' });
  const { meta, networks } = await loadCheckpoint(source);
  if (meta.architecture !== 'srresnet') throw new Error(`${source} holds ${meta.architecture}, not srresnet`);
  // Through the schema: a checkpoint's options may leave defaults out.
  const from = srresnet.options.parse(meta.options) as SrresnetOptions;
  const grown = deepenSrresnet(networks.model, from, meta.scale, blocks, 1);
  const options = { ...from, blocks };
  await saveCheckpoint(target, {
    meta: { ...meta, options, validation: undefined, createdAt: new Date().toISOString() },
    networks: { model: grown },
  });
  process.stdout.write(
    `${target}: srresnet ${from.blocks} -> ${blocks} blocks, from ${source} (${meta.training?.iterations} iterations)\n`,
  );
  shutdownBackend();
}

main().catch((err) => {
  process.stderr.write(`grow-srresnet: ${err.message}\n`);
  process.exitCode = 1;
});
