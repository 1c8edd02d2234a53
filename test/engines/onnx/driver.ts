/**
 * The ONNX tests' child-process side (see test/helpers/child.ts for why): each task builds small
 * checkpoints, runs them through the exporter, ONNX Runtime and the tfjs engine, and prints one JSON
 * line of measurements that the jest tests then check.
 *
 *   node -r ts-node/register/transpile-only test/onnx/driver.ts <task> <work dir>
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { initBackend, shutdownBackend } from '../../../src/runtime/tfjs';
import { describeCheckpoint, loadUpscaler, onnxCheckpointUpscaler, type Upscaler } from '../../../src/infer';
import { ensembleUpscaler } from '../../../src/infer/ensemble';
import { tiledUpscaler } from '../../../src/infer/tile';
import { createSession, onnxRuntimeStatus } from '../../../src/runtime/onnx/session';
import { exportCheckpoint, sessionNetwork } from '../../../src/engines/onnx/network';
import { readCheckpointMeta } from '../../../src/checkpoint';
import { saveTestCheckpoint, type TestCheckpoint } from '../../helpers/checkpoints';

export const EXPORT_CASES: [string, TestCheckpoint, number][] = [
  [
    'SRCNN 9-5-5, valid padding, x3',
    { architecture: 'srcnn', options: { kernels: [9, 5, 5], widths: [8, 4], padding: 'valid' }, scale: 3 },
    1,
  ],
  [
    'SRCNN 9-1-5, same padding, x2',
    { architecture: 'srcnn', options: { kernels: [9, 1, 5], widths: [6, 3], padding: 'same' }, scale: 2 },
    1,
  ],
  // x4: two x2 shuffles, the tail run before the last one; x3: one x3 shuffle, the tail after it.
  ['SRResNet x4, batch norms and PReLU', { architecture: 'srresnet', options: { blocks: 2, width: 8 }, scale: 4 }, 3],
  ['SRResNet x3', { architecture: 'srresnet', options: { blocks: 1, width: 8 }, scale: 3 }, 3],
  [
    'SRResNet x4, bilinear global skip, 3x3 tail',
    { architecture: 'srresnet', options: { blocks: 1, width: 8, tail_kernel: 3, global_skip: 'bilinear' }, scale: 4 },
    3,
  ],
  [
    'SRResNet x4, nearest + conv upsampling',
    { architecture: 'srresnet', options: { blocks: 1, width: 8, upsample: 'nearest' }, scale: 4 },
    3,
  ],
];

// Both larger than SRCNN's 'valid' border loss (16 pixels for 9-5-5).
export const SIZES: [number, number][] = [
  [21, 19],
  [26, 33],
];

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);

/** Whether every BatchNormalization node only scales channels (mean 0, variance 1, bias 0, epsilon 0). */
function batchNormsOnlyScale(model: onnx.ModelProto): boolean {
  const initializer = new Map(model.graph!.initializer!.map((t) => [t.name!, t]));
  const valuesOf = (name: string) => {
    const raw = initializer.get(name)!.rawData!;
    return new Float32Array(new Uint8Array(raw).buffer);
  };
  return model
    .graph!.node!.filter((n) => n.opType === 'BatchNormalization')
    .every((n) => {
      const [, , bias, mean, variance] = n.input!;
      const epsilon = n.attribute!.find((a) => a.name === 'epsilon')?.f ?? 1e-5;
      return epsilon === 0 && [bias, mean].every((v) => valuesOf(v).every((x) => x === 0)) && valuesOf(variance).every((x) => x === 1);
    });
}

async function exportTask(root: string) {
  const out = [];
  for (const [label, checkpoint, channels] of EXPORT_CASES) {
    const dir = path.join(root, label.replace(/\W+/g, '-'));
    const model = await saveTestCheckpoint(dir, { ...checkpoint, seed: 7 });
    const d = describeCheckpoint(dir, readCheckpointMeta(dir), label);
    for (const prelu of ['scaled-relu', 'node'] as const) {
      const bytes = await exportCheckpoint(dir, d, { prelu });
      const decoded = onnx.ModelProto.decode(bytes);
      const session = await createSession(bytes, { threads: 1 });
      const run = sessionNetwork(session.session);
      const runs = [];
      // One session, two input shapes: height and width are dynamic.
      for (const [h, w] of SIZES) {
        const x = tf.randomUniform([1, h, w, channels], 0, 1, 'float32', h * w) as tf.Tensor4D;
        const expected = model.predict(x) as tf.Tensor4D;
        const actual = await run(x);
        const spread = tf.tidy(() => tf.moments(expected).variance.dataSync()[0]);
        runs.push({ expectedShape: expected.shape, actualShape: actual.shape, maxDiff: maxDiff(actual, expected), spread });
        tf.dispose([x, expected, actual]);
      }
      await session.session.release();
      out.push({
        label,
        prelu,
        channels,
        scale: checkpoint.scale,
        architecture: checkpoint.architecture,
        shrink: d.shrink,
        ops: [...new Set(decoded.graph!.node!.map((n) => n.opType))],
        batchNormsOnlyScale: batchNormsOnlyScale(decoded),
        inputDims: decoded.graph!.input![0].type!.tensorType!.shape!.dim!.map((dim) => dim.dimParam || Number(dim.dimValue)),
        metadata: Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value])),
        runs,
      });
    }
    model.dispose();
  }
  return out;
}

async function upscaleWith(upscaler: Upscaler, lr: tf.Tensor3D): Promise<tf.Tensor3D> {
  return upscaler.upscale(lr);
}

/** Engine choice, outputs of both engines, and the export cache's life. */
async function engineTask(root: string) {
  process.env.SR_CACHE_DIR = path.join(root, 'user-cache');
  const dir = path.join(root, 'srcnn');
  const spec: TestCheckpoint = { architecture: 'srcnn', options: { kernels: [5, 3, 3], widths: [8, 4], padding: 'valid' }, scale: 2 };
  (await saveTestCheckpoint(dir, { ...spec, seed: 1 })).dispose();
  const lr = tf.randomUniform([17, 14, 3], 0, 1, 'float32', 3) as tf.Tensor3D;
  const gray = tf.randomUniform([11, 9, 1], 0, 1, 'float32', 4) as tf.Tensor3D;

  const tfjs = await loadUpscaler({ model: dir, engine: 'tfjs' });
  const first = await loadUpscaler({ model: dir, engine: 'onnx', threads: 1 });
  const second = await loadUpscaler({ model: dir, engine: 'auto', threads: 1 });
  const [a, b, c] = [await upscaleWith(tfjs, lr), await upscaleWith(first, lr), await upscaleWith(second, lr)];
  const [ga, gb] = [await upscaleWith(tfjs, gray), await upscaleWith(first, gray)];
  // Tiles and self-ensemble wrap the ONNX engine as they wrap tfjs.
  const wrap = (u: Upscaler) => tiledUpscaler(ensembleUpscaler(u), { tile: 8, pad: 4 });
  const [ea, eb] = [await upscaleWith(wrap(tfjs), lr), await upscaleWith(wrap(first), lr)];
  // Inputs above the arena threshold run in a second session without ONNX Runtime's memory arena,
  // and so does everything after them: the gray image (11x9) runs with the arena, the colour one
  // (17x14) without, and the gray one again without.
  const split = await onnxCheckpointUpscaler(dir, describeCheckpoint(dir, readCheckpointMeta(dir), 'split'), {
    threads: 1,
    arenaMaxInputPixels: 11 * 9,
  });
  const lg = await upscaleWith(split, gray);
  const la = await upscaleWith(split, lr);
  const lg2 = await upscaleWith(split, gray);
  const selection = {
    engines: [tfjs.engine, first.engine, second.engine, wrap(first).engine].map((e) => ({
      active: e?.active,
      requested: e?.requested,
      description: e?.description,
      export: e?.export,
      notes: e?.notes,
    })),
    shape: b.shape,
    rgbDiff: maxDiff(a, b),
    autoDiff: maxDiff(b, c),
    grayShape: gb.shape,
    grayDiff: maxDiff(ga, gb),
    tiledEnsembleDiff: maxDiff(ea, eb),
    leanDiff: maxDiff(a, la),
    arenaGrayDiff: maxDiff(ga, lg),
    leanGrayDiff: maxDiff(ga, lg2),
  };
  const bicubic = await loadUpscaler({ model: 'bicubic', scale: 2, engine: 'onnx' });
  const oldCache = fs.readFileSync(path.join(dir, 'model.onnx'));
  tf.dispose([b, c, ga, gb, ea, eb, la, lg, lg2]);
  [first, second, split].forEach((u) => u.dispose());

  // New weights in the same folder, with the old export copied back in beside them: the key no
  // longer matches, so it is rebuilt and the output follows the new weights.
  tfjs.dispose();
  (await saveTestCheckpoint(dir, { ...spec, seed: 2 })).dispose();
  const replacedCacheRemoved = !fs.existsSync(path.join(dir, 'model.onnx'));
  fs.writeFileSync(path.join(dir, 'model.onnx'), oldCache);
  const newTfjs = await loadUpscaler({ model: dir, engine: 'tfjs' });
  const newOnnx = await loadUpscaler({ model: dir, engine: 'onnx', threads: 1 });
  const [na, nb] = [await upscaleWith(newTfjs, lr), await upscaleWith(newOnnx, lr)];
  const newSpread = tf.tidy(() => tf.moments(na).variance.dataSync()[0]);
  const rebuilt = {
    engine: newOnnx.engine,
    newDiff: maxDiff(na, nb),
    newSpread,
    changedFromOld: maxDiff(a, nb),
    cacheReplaced: !fs.readFileSync(path.join(dir, 'model.onnx')).equals(oldCache),
  };
  tf.dispose([a, na, nb]);
  [newTfjs, newOnnx].forEach((u) => u.dispose());

  // The checkpoint folder cannot take the export (model.onnx is a folder there): the user cache does.
  const locked = path.join(root, 'locked');
  (await saveTestCheckpoint(locked, { ...spec, seed: 3 })).dispose();
  fs.mkdirSync(path.join(locked, 'model.onnx'));
  const userCache = [];
  for (let i = 0; i < 2; i++) {
    const u = await loadUpscaler({ model: locked, engine: 'onnx', threads: 1 });
    userCache.push(u.engine?.export);
    u.dispose();
  }
  // Nowhere writable (the cache folder's parent is a file): the export lives in memory and still runs.
  process.env.SR_CACHE_DIR = path.join(root, 'a-file', 'cache');
  fs.writeFileSync(path.join(root, 'a-file'), 'not a folder');
  const memory = await loadUpscaler({ model: locked, engine: 'onnx', threads: 1 });
  const m = await upscaleWith(memory, lr);
  const memoryOnly = { export: memory.engine?.export, shape: m.shape };
  m.dispose();
  memory.dispose();
  tf.dispose([lr, gray]);
  return { status: onnxRuntimeStatus(), selection, bicubic: bicubic.engine, replacedCacheRemoved, rebuilt, userCache, memoryOnly };
}

/** Run with ONNX Runtime made unloadable (test/helpers/no-onnxruntime.js). */
async function fallbackTask(root: string) {
  const dir = path.join(root, 'srcnn');
  (
    await saveTestCheckpoint(dir, { architecture: 'srcnn', options: { kernels: [3, 1, 3], widths: [4, 2], padding: 'same' }, scale: 3 })
  ).dispose();
  const auto = await loadUpscaler({ model: dir, engine: 'auto' });
  const lr = tf.randomUniform([6, 7, 3], 0, 1, 'float32', 1) as tf.Tensor3D;
  const out = await auto.upscale(lr);
  const autoResult = { engine: auto.engine, shape: out.shape };
  tf.dispose([lr, out]);
  auto.dispose();
  let onnxError: string | undefined;
  try {
    (await loadUpscaler({ model: dir, engine: 'onnx' })).dispose();
  } catch (err) {
    onnxError = `${(err as Error).name}: ${(err as Error).message}`;
  }
  return { status: onnxRuntimeStatus(), auto: autoResult, onnxError };
}

const TASKS: Record<string, (root: string) => Promise<unknown>> = { export: exportTask, engine: engineTask, fallback: fallbackTask };

if (require.main === module) {
  (async () => {
    const [task, root] = process.argv.slice(2);
    await initBackend({ threads: 1 });
    try {
      const result = await TASKS[task](root);
      process.stdout.write(JSON.stringify(result) + '\n');
    } finally {
      shutdownBackend();
    }
  })().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  });
}
