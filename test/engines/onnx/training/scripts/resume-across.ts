/**
 * Runs `sr train`'s pixel recipe on generated images with each engine and prints one JSON line:
 * how far a run that switches engine at its checkpoint ends from an uninterrupted one, and how a
 * run stopped between steps (as SIGINT/SIGTERM stop it) and resumed on the onnx engine compares
 * with one that was not stopped. Argument: a scratch folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseConfig, trainingConfigSchema, type TrainingConfig } from '../../../../../src/config';
import { writeImage } from '../../../../../src/image/io';
import { initBackend } from '../../../../../src/runtime/tfjs';
import { trainSupervised } from '../../../../../src/train/recipes/pixel';
import type { TrainEvent } from '../../../../../src/train/run';
import type { TrainingEngineChoice } from '../../../../../src/train/engine';
import { patternImage } from '../../../../helpers/images';
import { relRms } from './drift';

function config(root: string, out: string, iterations: number): TrainingConfig {
  const data = path.join(root, 'data');
  return parseConfig(
    trainingConfigSchema,
    {
      model: 'srcnn',
      scale: 3,
      network: { kernels: [5, 3, 3], widths: [8, 4], padding: 'valid' },
      data: { train: data, val: data, patch_size: 15, batch_size: 4 },
      train: { iterations, lr: 0.003, val_every: 10, save_every: 10, log_every: 5, seed: 3 },
      out: path.join(root, out),
    },
    'test',
  );
}

function weights(dir: string): Float32Array {
  const buf = fs.readFileSync(path.join(dir, 'last', 'weights.bin'));
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

async function run(
  root: string,
  out: string,
  iterations: number,
  engine: TrainingEngineChoice,
  resume = false,
  stopAfter?: number,
): Promise<string[]> {
  const c = config(root, out, iterations);
  const engines: string[] = [];
  let steps = 0;
  await trainSupervised({
    config: c,
    out: c.out!,
    resume,
    engine,
    threads: 2,
    onEvent: (e: TrainEvent) => {
      if (e.type === 'engine') engines.push(e.engine);
    },
    shouldStop: stopAfter === undefined ? undefined : () => steps++ >= stopAfter,
  });
  return engines;
}

async function main(): Promise<void> {
  await initBackend({ backend: process.env.SR_BACKEND ?? 'wasm' });
  const root = process.argv[2];
  fs.mkdirSync(path.join(root, 'data'), { recursive: true });
  await writeImage(path.join(root, 'data', 'a.png'), patternImage(60, 48, 3));
  await writeImage(path.join(root, 'data', 'b.png'), patternImage(45, 45, 1));

  const engines = [
    ...(await run(root, 'tfjs-straight', 40, 'tfjs')),
    ...(await run(root, 'onnx-then-tfjs', 20, 'onnx')),
    ...(await run(root, 'onnx-then-tfjs', 40, 'tfjs', true)),
    ...(await run(root, 'tfjs-then-onnx', 20, 'tfjs')),
    ...(await run(root, 'tfjs-then-onnx', 40, 'auto', true)),
    ...(await run(root, 'onnx-straight', 20, 'onnx')),
    ...(await run(root, 'onnx-stopped', 20, 'onnx', false, 7)),
  ];
  const stoppedAt = JSON.parse(fs.readFileSync(path.join(root, 'onnx-stopped', 'last', 'state.json'), 'utf8')).iteration as number;
  await run(root, 'onnx-stopped', 20, 'onnx', true);
  const straight = weights(path.join(root, 'tfjs-straight'));
  console.log(
    JSON.stringify({
      engines,
      onnxThenTfjs: relRms(straight, weights(path.join(root, 'onnx-then-tfjs'))),
      tfjsThenOnnx: relRms(straight, weights(path.join(root, 'tfjs-then-onnx'))),
      stoppedAt,
      stoppedAndResumed: relRms(weights(path.join(root, 'onnx-straight')), weights(path.join(root, 'onnx-stopped'))),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
