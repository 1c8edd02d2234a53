/**
 * The architecture contract's child-process side (ONNX Runtime cannot run inside jest's sandbox; see
 * test/helpers/child.ts). For every registered architecture at each of its scales it builds the
 * network with random weights and runs one input through the tfjs layers model, the folded network,
 * the ONNX export in ONNX Runtime, and the same network saved as a checkpoint and loaded back (as a
 * layers model and exported again from the folder), then prints one JSON line of measurements.
 *
 *   node -r ts-node/register/transpile-only test/models/contract-driver.ts <work dir>
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../../src/runtime/tfjs';
import { architectureNames, describeNetwork, getArchitecture, type NetworkDescription } from '../../src/models';
import { FoldedNetwork } from '../../src/engines/fold';
import { exportOnnx } from '../../src/engines/onnx/export';
import { exportCheckpoint, sessionNetwork } from '../../src/engines/onnx/network';
import { createSession } from '../../src/runtime/onnx/session';
import { FORMAT, loadCheckpoint, saveCheckpoint } from '../../src/checkpoint';
import { randomiseWeights } from '../helpers/checkpoints';

/**
 * Smaller widths and depths for architectures whose defaults cost more than the contract needs (its
 * checks hold for any options); an architecture not listed is tested with its defaults.
 */
export const SMALL_OPTIONS: Record<string, Record<string, unknown>> = {
  srcnn: { widths: [16, 8] },
  srresnet: { blocks: 2, width: 16 },
};

/** Option sets that take a different path through the engines (SRCNN's border loss, SRResNet's skip). */
export const EXTRA_OPTIONS: Record<string, Record<string, unknown>[]> = {
  srcnn: [{ widths: [16, 8], padding: 'valid' }],
  srresnet: [{ blocks: 1, width: 16, tail_kernel: 3, global_skip: 'bilinear' }],
};

/** The network's input size in LR pixels, before the border its 'valid' convolutions lose. */
const LR_SIZE: [number, number] = [7, 6];

export interface ContractCase {
  label: string;
  architecture: string;
  scale: number;
  options: Record<string, unknown>;
}

/** Every registered architecture at each of its scales, with small options, then the extra option sets. */
export function contractCases(): ContractCase[] {
  const cases: ContractCase[] = [];
  for (const architecture of architectureNames()) {
    const optionSets = [SMALL_OPTIONS[architecture] ?? {}, ...(EXTRA_OPTIONS[architecture] ?? [])];
    for (const [i, options] of optionSets.entries()) {
      for (const scale of getArchitecture(architecture).scales) {
        const variant = i === 0 ? '' : ` ${JSON.stringify(options)}`;
        cases.push({ label: `${architecture} x${scale}${variant}`, architecture, scale, options });
      }
    }
  }
  return cases;
}

/** The input a network of this description takes: LR or upsampled, plus the border it loses. */
export function inputShape(d: NetworkDescription): [number, number, number, number] {
  const factor = d.inputIsUpsampled ? d.scale : 1;
  const [h, w] = LR_SIZE.map((side) => side * factor + 2 * d.shrink);
  return [1, h, w, d.inputSpace === 'y' ? 1 : 3];
}

/** The output the contract promises: input x scale (or x1 for an upsampled input), less the border. */
export function expectedOutputShape(d: NetworkDescription): number[] {
  const [, h, w, c] = inputShape(d);
  const factor = d.inputIsUpsampled ? 1 : d.scale;
  return [1, h * factor - 2 * d.shrink, w * factor - 2 * d.shrink, c];
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);

/** ONNX Runtime's output for one export. */
async function runOnnx(bytes: Uint8Array, x: tf.Tensor4D): Promise<tf.Tensor4D> {
  const session = await createSession(bytes, { threads: 1 });
  try {
    return await sessionNetwork(session.session)(x);
  } finally {
    await session.session.release();
  }
}

/** The folded network's output (as the tfjs engine folds it) and ONNX Runtime's for that graph exported. */
async function foldedAndOnnx(model: tf.LayersModel, d: NetworkDescription, x: tf.Tensor4D) {
  const folded = FoldedNetwork.from(model);
  try {
    const foldedOut = folded.predict(x) as tf.Tensor4D;
    const bytes = exportOnnx(folded.graph, { name: `${d.architecture}-x${d.scale}` });
    return { foldedOut, onnxOut: await runOnnx(bytes, x) };
  } finally {
    folded.dispose();
  }
}

/** Saves the network as a checkpoint folder, then loads it back and exports it as the ONNX engine does. */
async function roundTrip(dir: string, model: tf.LayersModel, d: NetworkDescription, x: tf.Tensor4D) {
  const spec = getArchitecture(d.architecture);
  const meta = {
    format: FORMAT,
    architecture: d.architecture,
    model: d.architecture,
    options: d.options,
    scale: d.scale,
    inputSpace: d.inputSpace,
    inputIsUpsampled: d.inputIsUpsampled,
    channels: spec.inputSpace === 'y' ? 1 : 3,
    createdAt: new Date(0).toISOString(),
  };
  await saveCheckpoint(dir, { meta, networks: { model } });
  const loaded = (await loadCheckpoint(dir)).networks.model;
  try {
    const loadedOut = loaded.predict(x) as tf.Tensor4D;
    const bytes = await exportCheckpoint(dir, { ...d, name: dir });
    return { loadedOut, loadedOnnxOut: await runOnnx(bytes, x) };
  } finally {
    loaded.dispose();
  }
}

async function checkCase(root: string, c: ContractCase, seed: number) {
  const tensorsBefore = tf.memory().numTensors;
  const d = describeNetwork(c.architecture, c.options, c.scale);
  const model = getArchitecture(c.architecture).build(d.options, c.scale, seed);
  randomiseWeights(model, seed);
  const x = tf.randomUniform(inputShape(d), 0, 1, 'float32', seed) as tf.Tensor4D;
  const tfjsOut = model.predict(x) as tf.Tensor4D;
  const { foldedOut, onnxOut } = await foldedAndOnnx(model, d, x);
  const { loadedOut, loadedOnnxOut } = await roundTrip(path.join(root, c.label.replace(/\W+/g, '-')), model, d, x);
  const outputs = { folded: foldedOut, onnx: onnxOut, loaded: loadedOut, loadedOnnx: loadedOnnxOut };
  const [, inH, inW] = x.shape;
  const [, outH, outW] = tfjsOut.shape;
  const factor = d.inputIsUpsampled ? 1 : d.scale;
  const result = {
    label: c.label,
    declaredShrink: d.shrink,
    measuredShrink: [(inH * factor - outH) / 2, (inW * factor - outW) / 2],
    expectedShape: expectedOutputShape(d),
    shapes: { tfjs: tfjsOut.shape, ...mapValues(outputs, (t) => t.shape) },
    maxAbsDiff: mapValues(outputs, (t) => maxAbsDiff(t, tfjsOut)),
    // The outputs vary, so equal outputs mean something.
    spread: tf.tidy(() => tf.moments(tfjsOut).variance.dataSync()[0]),
    leakedTensors: 0,
  };
  tf.dispose([x, tfjsOut, ...Object.values(outputs)]);
  model.dispose();
  result.leakedTensors = tf.memory().numTensors - tensorsBefore;
  return result;
}

function mapValues<V, R>(o: Record<string, V>, f: (v: V) => R): Record<string, R> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

export type ContractResult = Awaited<ReturnType<typeof checkCase>>;

async function main(root: string): Promise<ContractResult[]> {
  const results = [];
  for (const [i, c] of contractCases().entries()) results.push(await checkCase(root, c, i + 1));
  return results;
}

if (require.main === module) {
  (async () => {
    await initBackend({ threads: 1 });
    try {
      process.stdout.write(JSON.stringify(await main(process.argv[2])) + '\n');
    } finally {
      shutdownBackend();
    }
  })().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  });
}
