/**
 * The contract every registered architecture keeps, at each of its scales: the output size it
 * promises (x scale, less 2 * shrink), the same values from the tfjs layers model, the folded
 * network, the ONNX export in ONNX Runtime and the network saved and loaded back as a checkpoint,
 * and a description whose feature channels match the network it builds. Registering an
 * architecture puts it under these tests; ONNX Runtime runs in a child process
 * (contract-driver.ts; see test/helpers/child.ts for why).
 */
import * as tf from '@tensorflow/tfjs';
import { architectureNames, describeNetwork, getArchitecture, type NetworkDescription } from '../../src/models';
import { runTsScript } from '../helpers/child';
import { tempDir, useTestBackend } from '../helpers/env';
import { contractCases, inputShape, type ContractCase, type ContractResult } from './contract-driver';

/** Largest difference allowed between any two ways of running a network. */
const TOLERANCE = 1e-5;

const CASES = contractCases();
const caseRow = (c: ContractCase): [string, ContractCase] => [c.label, c];

describe('every registered architecture, at each of its scales', () => {
  let results: Map<string, ContractResult>;
  beforeAll(async () => {
    const run = await runTsScript<ContractResult[]>(require.resolve('./contract-driver'), [tempDir('sr-contract-')]);
    if (run.code !== 0 || !run.result) throw new Error(`contract driver failed (${run.code}): ${run.stderr}`);
    results = new Map(run.result.map((r) => [r.label, r]));
  });

  it('is covered, FSRCNN included', () => {
    const covered = CASES.map((c) => `${c.architecture} x${c.scale}`);
    for (const name of architectureNames()) {
      for (const scale of getArchitecture(name).scales) expect(covered).toContain(`${name} x${scale}`);
    }
    expect(architectureNames()).toEqual(expect.arrayContaining(['srcnn', 'srresnet', 'fsrcnn']));
    expect([...results.keys()]).toEqual(CASES.map((c) => c.label));
  });

  it.each(CASES.map(caseRow))('%s: output x scale less 2 * shrink, in every engine', (label) => {
    const r = results.get(label)!;
    expect(r.shapes.tfjs).toEqual(r.expectedShape);
    for (const shape of Object.values(r.shapes)) expect(shape).toEqual(r.expectedShape);
    expect(r.measuredShrink).toEqual([r.declaredShrink, r.declaredShrink]);
  });

  it.each(CASES.map(caseRow))('%s: tfjs, folded, ONNX and a saved and loaded checkpoint agree within 1e-5', (label) => {
    const r = results.get(label)!;
    expect(r.spread).toBeGreaterThan(1e-4); // the outputs vary, so agreeing means something
    expect(r.maxAbsDiff.folded).toBeLessThan(TOLERANCE);
    expect(r.maxAbsDiff.onnx).toBeLessThan(TOLERANCE);
    expect(r.maxAbsDiff.loaded).toBe(0); // the same weights in the same engine
    expect(r.maxAbsDiff.loadedOnnx).toBeLessThan(TOLERANCE);
    expect(r.leakedTensors).toBe(0);
  });
});

/**
 * Per layer output, its channels counted at the output's resolution: each map's area grows with the
 * input by a fixed ratio to the output's (borders lost to 'valid' convolutions cancel in the growth).
 */
function measuredFeatureChannels(model: tf.LayersModel, d: NetworkDescription): number[] {
  const probe = tf.model({ inputs: model.inputs, outputs: model.layers.map((l) => l.output as tf.SymbolicTensor) });
  const [n, h, w, c] = inputShape(d);
  const growth = d.inputIsUpsampled ? d.scale : 1; // keeps the larger input a whole LR image
  const shapes = [0, growth].map((extra) =>
    tf.tidy(() => (probe.predict(tf.zeros([n, h + extra, w + extra, c])) as tf.Tensor[]).map((t) => t.shape)),
  );
  const output = model.layers.indexOf(model.outputLayers[0]);
  const areaGrowth = (i: number) => (shapes[1][i][1]! - shapes[0][i][1]!) * (shapes[1][i][2]! - shapes[0][i][2]!);
  return shapes[0].map((shape, i) => (shape[3]! * areaGrowth(i)) / areaGrowth(output));
}

describe('describeNetwork', () => {
  beforeAll(useTestBackend);

  it.each(CASES.map(caseRow))('%s: gives the shrink and feature channels of the network it builds', (_label, c) => {
    const spec = getArchitecture(c.architecture);
    const d = describeNetwork(c.architecture, c.options, c.scale);
    const options = spec.options.parse(c.options);
    expect(d).toEqual({
      architecture: c.architecture,
      options,
      scale: c.scale,
      inputSpace: spec.inputSpace,
      inputIsUpsampled: spec.inputIsUpsampled,
      shrink: spec.shrink(options),
      featureChannels: spec.featureChannels(options),
    });
    const before = tf.memory().numTensors;
    const model = spec.build(options, c.scale, 1);
    const widest = Math.max(...measuredFeatureChannels(model, d));
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // One count for every scale: it covers this one, and is the widest over the architecture's scales.
    expect(widest).toBeLessThanOrEqual(d.featureChannels);
    const widestOverScales = spec.scales.map((scale) => {
      const atScale = spec.build(options, scale, 1);
      try {
        return Math.max(...measuredFeatureChannels(atScale, describeNetwork(c.architecture, c.options, scale)));
      } finally {
        atScale.dispose();
      }
    });
    expect(d.featureChannels).toBe(Math.ceil(Math.max(...widestOverScales) - 1e-9));
  });

  it('gives the defaults of every architecture at each of its scales', () => {
    for (const name of architectureNames()) {
      const spec = getArchitecture(name);
      const defaults = spec.options.parse({});
      for (const scale of spec.scales) {
        expect(describeNetwork(name, {}, scale)).toMatchObject({
          shrink: spec.shrink(defaults),
          featureChannels: spec.featureChannels(defaults),
        });
      }
    }
    expect(describeNetwork('fsrcnn', {}, 3)).toMatchObject({ inputSpace: 'y', inputIsUpsampled: false, shrink: 0, featureChannels: 14 });
  });
});
