/**
 * Every operator of sr's ONNX graphs has a CUDA kernel (ONNX Runtime's CUDA execution provider, for
 * tensor(float), at the graph's opset): the training step graphs (pixel losses with Adam and SGD,
 * SRGAN's adversarial step, every one-kind network of the per-layer tests, each filter-gradient form)
 * and the inference export. The graphs are only built and read here, never run, so no GPU (and no
 * ONNX Runtime) is needed. The table is src/engines/onnx/cuda-operators.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { getArchitecture } from '../../../src/models';
import { buildDiscriminator } from '../../../src/models/discriminator';
import { buildPixelStep, type OptimizerSpec, type PixelLossKind } from '../../../src/engines/onnx/training';
import { buildGanStep } from '../../../src/engines/onnx/training/gan-graph';
import { TRAINING_OPSET } from '../../../src/engines/onnx/training/builder';
import { exportOnnx, ONNX_OPSET, type PreluForm } from '../../../src/engines/onnx/export';
import { ONNX_PHASE_FOLD } from '../../../src/engines/onnx/network';
import { FoldedNetwork } from '../../../src/engines/fold';
import { CUDA_OPERATORS, defaultOpset, graphOperators, onCuda, operatorsNotOnCuda } from '../../../src/engines/onnx/cuda-operators';
import { useTestBackend } from '../../helpers/env';
import { tinyVgg } from '../../helpers/vgg';
import { LAYER_KINDS, layerKindModel } from './training/scripts/layer-kinds';

beforeAll(useTestBackend);

const ADAM: OptimizerSpec = { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const SGD: OptimizerSpec = { kind: 'sgd', momentum: 0.9 };

interface Built {
  label: string;
  bytes: Uint8Array;
}

/** Every graph built by the tests below, for the coverage checks at the end. */
const built: Built[] = [];

function check(label: string, bytes: Uint8Array, opset: number): void {
  built.push({ label, bytes });
  expect({ label, opset: defaultOpset(bytes) }).toEqual({ label, opset });
  expect({ label, notOnCuda: operatorsNotOnCuda(bytes) }).toEqual({ label, notOnCuda: [] });
}

/** The NHWC shape `model` outputs for `input`. */
function outputShape(model: tf.LayersModel, input: number[]): number[] {
  return tf.tidy(() => (model.predict(tf.zeros(input)) as tf.Tensor).shape);
}

function pixelStep(model: tf.LayersModel, loss: PixelLossKind, optimizer: OptimizerSpec, batch: number, patch: number, sameTarget = false) {
  const channels = model.inputs[0].shape[3] as number;
  const inputShape = [batch, patch, patch, channels];
  const targetShape = sameTarget ? inputShape : outputShape(model, inputShape);
  return buildPixelStep({ model, loss, optimizer, inputShape, targetShape }).bytes;
}

function architecture(name: string, options: Record<string, unknown>, scale: number): tf.LayersModel {
  const a = getArchitecture(name);
  return a.build(a.options.parse(options), scale, 1);
}

describe('training step graphs use only operators with CUDA kernels', () => {
  const models: tf.LayersModel[] = [];
  const keep = (m: tf.LayersModel) => (models.push(m), m);
  afterAll(() => models.forEach((m) => m.dispose()));

  // SRCNN 9-5-5 at its default widths (64, 32) takes three filter-gradient forms at once: the plain
  // Conv form (9x9 1->64), the gathered im2col (5x5 64->32) and the dz Conv (5x5 32->1).
  it.each(['same', 'valid'] as const)('SRCNN 9-5-5, %s padding, MSE and Adam', (padding) => {
    const model = keep(architecture('srcnn', { padding }, 3));
    check(`srcnn ${padding}`, pixelStep(model, 'mse', ADAM, 2, 21, true), TRAINING_OPSET);
  });

  it('SRCNN with L1 and SGD + momentum', () => {
    const model = keep(architecture('srcnn', { kernels: [5, 3, 3], widths: [16, 8] }, 3));
    check('srcnn l1 sgd', pixelStep(model, 'l1', SGD, 2, 15, true), TRAINING_OPSET);
  });

  it.each(['taps', 'gather', 'conv'])('SRCNN with every filter gradient forced to the %s form (SR_DW)', (form) => {
    const model = keep(architecture('srcnn', { kernels: [9, 5, 5], widths: [16, 8], padding: 'valid' }, 3));
    const before = process.env.SR_DW;
    process.env.SR_DW = form;
    try {
      check(`srcnn SR_DW=${form}`, pixelStep(model, 'mse', ADAM, 2, 21, true), TRAINING_OPSET);
    } finally {
      if (before === undefined) delete process.env.SR_DW;
      else process.env.SR_DW = before;
    }
  });

  it('FSRCNN (PReLU, the strided Conv2DTranspose tail), MSE and Adam', () => {
    const model = keep(architecture('fsrcnn', {}, 3));
    check('fsrcnn', pixelStep(model, 'mse', ADAM, 2, 11), TRAINING_OPSET);
  });

  it.each([
    ['bilinear', 2, 'mse', ADAM],
    ['none', 4, 'l1', SGD],
  ] as const)('SRResNet 2 blocks x 8 (batch norm, PReLU), global skip %s, x%d, %s', (skip, scale, loss, optimizer) => {
    const model = keep(architecture('srresnet', { blocks: 2, width: 8, global_skip: skip }, scale));
    check(`srresnet ${skip} x${scale}`, pixelStep(model, loss, optimizer, 2, 8), TRAINING_OPSET);
  });

  it.each(LAYER_KINDS)('one-kind network: %s', (kind) => {
    const model = keep(layerKindModel(kind, 5));
    check(`kind ${kind}`, pixelStep(model, 'mse', SGD, 3, 9), TRAINING_OPSET);
  });

  it.each([
    ['VGG-like features', true, ADAM],
    ['pixel MSE', false, ADAM],
    ['VGG-like features, SGD', true, SGD],
  ] as const)('SRGAN adversarial step, content: %s', (name, vgg, optimizer) => {
    const patch = 16;
    const generator = keep(architecture('srresnet', { blocks: 1, width: 8, global_skip: 'bilinear', tail_kernel: 3 }, 2));
    const discriminator = keep(buildDiscriminator({ patch_size: 2 * patch, width: 4, dense: 8 }, 1));
    const features = vgg ? keep(tinyVgg()) : undefined;
    const bytes = buildGanStep({
      generator,
      discriminator,
      features,
      adversarialWeight: 1e-3,
      optimizer,
      inputShape: [2, patch, patch, 3],
      targetShape: [2, 2 * patch, 2 * patch, 3],
    }).bytes;
    check(`srgan ${name}`, bytes, TRAINING_OPSET);
  });
});

describe('the inference export uses only operators with CUDA kernels', () => {
  const cases: [string, string, Record<string, unknown>, number][] = [
    ['SRCNN 9-5-5 valid', 'srcnn', { kernels: [9, 5, 5], widths: [8, 4], padding: 'valid' }, 3],
    ['SRCNN 9-1-5 same', 'srcnn', { kernels: [9, 1, 5], widths: [6, 3], padding: 'same' }, 2],
    ['SRResNet x4 (batch norm, PReLU)', 'srresnet', { blocks: 2, width: 8 }, 4],
    ['SRResNet x3', 'srresnet', { blocks: 1, width: 8 }, 3],
    ['SRResNet x4, bilinear skip', 'srresnet', { blocks: 1, width: 8, tail_kernel: 3, global_skip: 'bilinear' }, 4],
    ['FSRCNN x3', 'fsrcnn', {}, 3],
  ];
  const forms: PreluForm[] = ['scaled-relu', 'node'];

  it.each(cases)('%s', (label, name, options, scale) => {
    const model = architecture(name, options, scale);
    try {
      for (const phaseFold of new Set([ONNX_PHASE_FOLD, !ONNX_PHASE_FOLD])) {
        const folded = FoldedNetwork.from(model, { phaseFold });
        try {
          for (const prelu of forms) {
            check(`export ${label} prelu=${prelu} phaseFold=${phaseFold}`, exportOnnx(folded.graph, { name: label, prelu }), ONNX_OPSET);
          }
        } finally {
          folded.dispose();
        }
      }
    } finally {
      model.dispose();
    }
  });
});

describe('the graphs above exercise the table', () => {
  it('use every operator the table lists, and the operators each rule is there for', () => {
    const used = new Set(built.flatMap((g) => graphOperators(g.bytes)));
    // The table lists what sr's graphs use: an entry no graph uses is stale (or a case is missing here).
    expect(Object.keys(CUDA_OPERATORS).filter((op) => !used.has(op))).toEqual([]);
    for (const op of ['Conv', 'ConvTranspose', 'Gather', 'Gemm', 'MaxPool', 'ScatterElements', 'Resize', 'PRelu', 'BatchNormalization']) {
      expect(used).toContain(op);
    }
  });
});

/** A one-node-per-op model of the default domain at `opset` (and `extra` nodes as they are). */
function handMade(opTypes: string[], opset: number, extra: onnx.INodeProto[] = []): Uint8Array {
  const node = opTypes.map((opType, i) => ({ opType, input: [`v${i}`], output: [`v${i + 1}`], name: `n${i}` }));
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'hand-made', node: [...node, ...extra] },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

describe('operatorsNotOnCuda reports what it should', () => {
  it('passes table operators and reports one the CUDA provider lacks (Col2Im is CPU-only)', () => {
    expect(operatorsNotOnCuda(handMade(['Conv', 'Relu', 'ScatterElements'], 17))).toEqual([]);
    expect(operatorsNotOnCuda(handMade(['Conv', 'Col2Im', 'Relu', 'Col2Im'], 17))).toEqual(['Col2Im']);
  });

  it('reports operators of other domains, by domain', () => {
    const fused: onnx.INodeProto = { opType: 'FusedConv', domain: 'com.microsoft', input: ['a'], output: ['b'] };
    expect(operatorsNotOnCuda(handMade(['Conv'], 17, [fused]))).toEqual(['com.microsoft:FusedConv']);
  });

  it('looks inside subgraphs (an If branch)', () => {
    const branch: onnx.IGraphProto = { name: 'then', node: [{ opType: 'Col2Im', input: ['x'], output: ['y'] }] };
    const ifNode: onnx.INodeProto = {
      opType: 'If',
      input: ['cond'],
      output: ['out'],
      attribute: [{ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch }],
    };
    // If itself is not in the table either (sr's graphs have no control flow).
    expect(operatorsNotOnCuda(handMade(['Relu'], 17, [ifNode]))).toEqual(['Col2Im', 'If']);
  });

  it('checks the opset: a kernel range ends where the next operator version starts', () => {
    // The table's Resize kernel is [13, 17]; ReduceMean's [1, 17]; Conv's [11, 21].
    expect(onCuda('Resize', 17)).toBe(true);
    expect(onCuda('Resize', 18)).toBe(false);
    expect(onCuda('Conv', 13)).toBe(true);
    expect(operatorsNotOnCuda(handMade(['Conv', 'ReduceMean', 'Resize'], 18))).toEqual(['ReduceMean', 'Resize']);
    expect(operatorsNotOnCuda(handMade(['Relu'], 12))).toEqual(['Relu']);
    // A model without a default-domain opset cannot be checked: everything is reported.
    const noOpset = onnx.ModelProto.decode(handMade(['Relu'], 17));
    noOpset.opsetImport = [];
    expect(operatorsNotOnCuda(noOpset)).toEqual(['Relu']);
    expect(onCuda('toString', 17)).toBe(false);
  });
});
