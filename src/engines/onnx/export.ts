/**
 * ONNX export of a folded network (src/engines/fold.ts): the inference graph with batch norms
 * already folded, as Conv, ConvTranspose, Relu, PRelu, Tanh, Add, DepthToSpace and Mul/Add nodes.
 * By default a PReLU is written as Relu, Add and two BatchNormalization nodes used as per-channel
 * scalings (see preluNodes); `prelu: 'node'` writes one PRelu node instead.
 *
 * The exported model takes and returns NCHW float32 tensors, height and width dynamic
 * (`[batch, C, height, width]` in, `[batch, C', out_height, out_width]` out), values as the
 * network sees them: for SRCNN the Y channel of the bicubic-upscaled image (mirror-padded by the
 * model's shrink when its convolutions are 'valid'), for SRResNet the LR RGB image in [0, 1]. The
 * colour plumbing around the network stays in sr (src/infer/model-upscaler.ts).
 *
 * The protobuf schema is onnx-proto's (the ONNX project's onnx.proto compiled for protobufjs).
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { SrError } from '../../core/errors';
import type { ConvOp, FoldedGraph, FoldedStep } from '../fold';
import { float, int, ints, text } from '../../runtime/onnx/attributes';

/** Opset 13 has every operator used here with its current semantics (DepthToSpace's DCR mode). */
export const ONNX_OPSET = 13;
/** The IR version that goes with opset 13. */
export const ONNX_IR_VERSION = 7;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';

export interface OnnxExportOptions {
  /** The graph's name ('srcnn-x3', a checkpoint path...). */
  name: string;
  /** Stored as the model's metadata_props (scale, input space, cache key...). */
  metadata?: Record<string, string>;
  producerVersion?: string;
  docString?: string;
  /** How PReLU is written: 'scaled-relu' (default, faster in ONNX Runtime's CPU provider) or one 'node'. */
  prelu?: PreluForm;
}

export type PreluForm = 'scaled-relu' | 'node';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** Little-endian float32 bytes, as TensorProto.raw_data requires whatever the host's byte order. */
function floatBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/** Collects nodes and initializers with unique value names. */
class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly names = new Set<string>([ONNX_INPUT, ONNX_OUTPUT]);

  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  constant(base: string, values: ArrayLike<number>, dims: number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dataType: FLOAT, dims, rawData: floatBytes(values) });
    return name;
  }

  private readonly filled = new Map<string, string>();

  /** A [length] initializer of one repeated value, made once and shared by every node using it. */
  filledVector(value: number, length: number): string {
    const key = `${value}x${length}`;
    let name = this.filled.get(key);
    if (!name) {
      name = this.constant(`fill_${value}_${length}`, new Float32Array(length).fill(value), [length]);
      this.filled.set(key, name);
    }
    return name;
  }

  node(opType: string, inputs: string[], output: string, attribute: onnx.IAttributeProto[] = []): string {
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute });
    return output;
  }

  /** A node whose output gets a fresh name derived from `base`. */
  add(opType: string, inputs: string[], base: string, attribute: onnx.IAttributeProto[] = []): string {
    return this.node(opType, inputs, this.unique(base), attribute);
  }
}

/** Values of a tensor, read synchronously (weights are small and already on the CPU side). */
function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** PReLU slopes, one per channel (shared over height and width), as a flat array. */
function channelSlopes(alpha: tf.Tensor, channels: number | null, where: string): Float32Array {
  const shape = alpha.shape;
  if (shape.slice(0, -1).some((d) => d !== 1) || (channels !== null && alpha.size !== channels)) {
    throw new SrError(`cannot export ${where} to ONNX: its PReLU slopes (shape [${shape.join(', ')}]) are not one per channel`);
  }
  return values(alpha);
}

/** y * scale per channel, as a BatchNormalization with mean 0, variance 1 and epsilon 0. */
function channelScale(b: GraphBuilder, x: string, scale: string, channels: number, base: string): string {
  const zeros = b.filledVector(0, channels); // the bias and the mean
  return b.add('BatchNormalization', [x, scale, zeros, zeros, b.filledVector(1, channels)], base, [float('epsilon', 0)]);
}

/**
 * PReLU(y) with slopes a. As one PRelu node, or as y + (1 - a) * relu(-y), which is the same value
 * (exactly y where y > 0), with the two per-channel scalings as BatchNormalization nodes: ONNX
 * Runtime's CPU provider runs those as 1x1 depthwise convolutions in its blocked NCHWc layout, with
 * the ReLU and the sum fused into them, while a PRelu node makes it convert the tensor to NCHW and
 * back around it (measurements: docs/performance.md, "Kernel and engine measurements").
 */
function preluNodes(b: GraphBuilder, y: string, slopes: Float32Array, base: string, form: PreluForm): string {
  if (form === 'node') return b.add('PRelu', [y, b.constant(`${base}.slope`, slopes, [slopes.length, 1, 1])], base);
  const c = slopes.length;
  const negated = channelScale(b, y, b.filledVector(-1, c), c, `${base}/negate`);
  const negativePart = b.add('Relu', [negated], `${base}/relu`);
  const oneMinusSlopes = b.constant(
    `${base}/scale.scale`,
    Float32Array.from(slopes, (a) => 1 - a),
    [c],
  );
  const scaled = channelScale(b, negativePart, oneMinusSlopes, c, `${base}/scale`);
  return b.add('Add', [y, scaled], base);
}

/** TensorFlow's 'same' padding as explicit pads where it is static (stride 1), else SAME_UPPER (TF's rule). */
function paddingAttributes(op: ConvOp, kh: number, kw: number): onnx.IAttributeProto[] {
  if (op.padding === 'valid') return [ints('pads', [0, 0, 0, 0])];
  if (op.strides[0] !== 1 || op.strides[1] !== 1) return [text('auto_pad', 'SAME_UPPER')];
  const total = [(kh - 1) * op.dilations[0], (kw - 1) * op.dilations[1]];
  const begin = total.map((t) => Math.floor(t / 2));
  return [ints('pads', [begin[0], begin[1], total[0] - begin[0], total[1] - begin[1]])];
}

function exportConv(b: GraphBuilder, step: FoldedStep, op: ConvOp, x: string, prelu: PreluForm): { value: string; channels: number } {
  const [kh, kw, cin, cout] = op.kernel.shape;
  // HWIO (TensorFlow) to OIHW (ONNX).
  const oihw = tf.tidy(() => op.kernel.transpose([3, 2, 0, 1]));
  const weight = b.constant(`${step.name}.weight`, values(oihw), [cout, cin, kh, kw]);
  oihw.dispose();
  const inputs = [x, weight];
  if (op.bias) inputs.push(b.constant(`${step.name}.bias`, values(op.bias), [cout]));
  const attributes = [
    ints('kernel_shape', [kh, kw]),
    ints('strides', op.strides),
    ints('dilations', op.dilations),
    ...paddingAttributes(op, kh, kw),
  ];
  let y = b.add('Conv', inputs, `${step.name}/conv`, attributes);
  if (op.activation === 'relu') y = b.add('Relu', [y], `${step.name}/relu`);
  else if (op.activation === 'tanh') y = b.add('Tanh', [y], `${step.name}/tanh`);
  else if (op.activation === 'prelu') {
    if (!op.alpha) throw new Error(`${step.name}: PReLU without slopes`);
    y = preluNodes(b, y, channelSlopes(op.alpha, cout, step.name), `${step.name}/prelu`, prelu);
  }
  let channels = cout;
  if (op.shuffle) {
    y = b.add('DepthToSpace', [y], `${step.name}/depth_to_space`, [int('blocksize', op.shuffle), text('mode', 'DCR')]);
    channels = cout / (op.shuffle * op.shuffle);
  }
  return { value: y, channels };
}

/** ONNX operators of the activations tfjs layers name; one missing here has none in this exporter. */
const ACTIVATION_OPS = new Map([
  ['relu', 'Relu'],
  ['tanh', 'Tanh'],
  ['sigmoid', 'Sigmoid'],
  ['linear', 'Identity'],
]);

interface TransposedAxisPads {
  begin: number;
  end: number;
  outputPadding: number;
}

/**
 * ConvTranspose pads along one axis that give tfjs's conv2dTranspose output. tfjs computes it as the
 * input gradient of a forward convolution from an output of in * s ('same') or in * s + max(k - s, 0)
 * ('valid') pixels, which pads floor(max(k - s, 0) / 2) before for 'same', 0 for 'valid'. ONNX places
 * input pixel i at output i * s - begin, as that gradient does, so begin is that padding; the end is
 * what is left of the reach (in - 1) * s + k - begin beyond the output, or output_padding where the
 * reach falls short. Neither depends on the input size, so height and width stay dynamic.
 */
function transposedAxisPads(kernel: number, stride: number, padding: 'same' | 'valid'): TransposedAxisPads {
  const overlap = Math.max(kernel - stride, 0);
  const begin = padding === 'same' ? Math.floor(overlap / 2) : 0;
  const outputBeyondInput = padding === 'same' ? 0 : overlap;
  const excess = kernel - stride - begin - outputBeyondInput;
  return excess >= 0 ? { begin, end: excess, outputPadding: 0 } : { begin, end: 0, outputPadding: -excess };
}

interface TransposedConvConfig {
  strides?: number | number[];
  padding?: 'same' | 'valid';
  dilationRate?: number | number[];
  activation?: string;
  useBias?: boolean;
}

const pairOf = (v: number | number[] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** A tfjs Conv2DTranspose layer (kernel [kh, kw, out, in]) as one ConvTranspose node and its activation. */
function exportConvTranspose(b: GraphBuilder, name: string, layer: tf.layers.Layer, x: string): { value: string; channels: number } {
  const c = layer.getConfig() as TransposedConvConfig;
  const activation = ACTIVATION_OPS.get(c.activation ?? 'linear');
  if (!activation || pairOf(c.dilationRate).some((d) => d !== 1)) {
    throw new SrError(`cannot export layer '${name}' (Conv2DTranspose) to ONNX: only undilated ones with a plain activation`);
  }
  const padding = c.padding ?? 'valid';
  const [kernel, bias] = layer.getWeights();
  const [kh, kw, cout, cin] = kernel.shape;
  // [kh, kw, out, in] to ConvTranspose's [in, out, kh, kw]: the same permutation as a Conv's HWIO to OIHW.
  const ioHw = tf.tidy(() => kernel.transpose([3, 2, 0, 1]));
  const inputs = [x, b.constant(`${name}.weight`, values(ioHw), [cin, cout, kh, kw])];
  ioHw.dispose();
  if (c.useBias !== false) inputs.push(b.constant(`${name}.bias`, values(bias), [cout]));
  const strides = pairOf(c.strides);
  const [rows, cols] = [transposedAxisPads(kh, strides[0], padding), transposedAxisPads(kw, strides[1], padding)];
  const y = b.add('ConvTranspose', inputs, activation === 'Identity' ? name : `${name}/conv_transpose`, [
    ints('kernel_shape', [kh, kw]),
    ints('strides', strides),
    ints('pads', [rows.begin, cols.begin, rows.end, cols.end]),
    ints('output_padding', [rows.outputPadding, cols.outputPadding]),
  ]);
  return { value: activation === 'Identity' ? y : b.add(activation, [y], name), channels: cout };
}

interface LayerConfigView {
  activation?: string;
  maxValue?: number | null;
  blockSize?: number;
  factor?: number;
  scale?: number;
  offset?: number;
}

/** Layers that run as they are in the folded network, by class; anything else cannot be exported. */
function exportLayer(
  b: GraphBuilder,
  step: FoldedStep,
  layer: tf.layers.Layer,
  xs: string[],
  channels: number | null,
  prelu: PreluForm,
): { value: string; channels: number | null } {
  const className = layer.getClassName();
  const c = layer.getConfig() as LayerConfigView;
  const name = step.name;
  switch (className) {
    case 'Add': {
      let sum = xs[0];
      for (const x of xs.slice(1)) sum = b.add('Add', [sum, x], name);
      return { value: sum, channels };
    }
    case 'SrScaleShift': {
      const scaled = b.add('Mul', [xs[0], b.constant(`${name}.scale`, [c.scale ?? 1], [])], `${name}/mul`);
      return { value: b.add('Add', [scaled, b.constant(`${name}.offset`, [c.offset ?? 0], [])], name), channels };
    }
    case 'SrDepthToSpace': {
      const k = c.blockSize ?? 1;
      return {
        value: b.add('DepthToSpace', [xs[0]], name, [int('blocksize', k), text('mode', 'DCR')]),
        channels: channels === null ? null : channels / (k * k),
      };
    }
    case 'SrResizeBilinear': {
      // Half-pixel linear: the same sampling as TensorFlow's half_pixel_centers (edges clamp).
      const f = c.factor ?? 1;
      const scales = b.constant(`${name}.scales`, [1, 1, f, f], [4]);
      return {
        value: b.add('Resize', [xs[0], '', scales], name, [text('mode', 'linear'), text('coordinate_transformation_mode', 'half_pixel')]),
        channels,
      };
    }
    case 'SrUpsampleNearest': {
      // Every pixel repeated over an f x f cell: output coordinate x reads input floor(x / f).
      const f = c.factor ?? 1;
      const scales = b.constant(`${name}.scales`, [1, 1, f, f], [4]);
      return {
        value: b.add('Resize', [xs[0], '', scales], name, [
          text('mode', 'nearest'),
          text('coordinate_transformation_mode', 'asymmetric'),
          text('nearest_mode', 'floor'),
        ]),
        channels,
      };
    }
    case 'PReLU':
      return { value: preluNodes(b, xs[0], channelSlopes(layer.getWeights()[0], channels, name), name, prelu), channels };
    case 'ReLU':
      if (c.maxValue != null) break;
      return { value: b.add('Relu', [xs[0]], name), channels };
    case 'Activation': {
      const op = ACTIVATION_OPS.get(c.activation ?? '');
      if (!op) break;
      return { value: b.add(op, [xs[0]], name), channels };
    }
    case 'Conv2DTranspose':
      return exportConvTranspose(b, name, layer, xs[0]);
  }
  throw new SrError(`cannot export layer '${name}' (${className}) to ONNX: no ONNX equivalent in sr's exporter`);
}

/** The ONNX model (serialised ModelProto) computing what the folded graph computes, in NCHW. */
export function exportOnnx(graph: FoldedGraph, options: OnnxExportOptions): Uint8Array {
  const b = new GraphBuilder();
  const prelu = options.prelu ?? 'scaled-relu';
  const valueOf = new Map<string, { value: string; channels: number | null }>([
    [graph.inputName, { value: ONNX_INPUT, channels: graph.inputChannels }],
  ]);
  for (const step of graph.steps) {
    const inputs = step.inputs.map((n) => {
      const v = valueOf.get(n);
      if (!v) throw new Error(`${step.name}: input '${n}' is computed by no earlier step`);
      return v;
    });
    const xs = inputs.map((v) => v.value);
    const out =
      step.op.kind === 'conv'
        ? exportConv(b, step, step.op, xs[0], prelu)
        : exportLayer(b, step, step.op.layer, xs, inputs[0].channels, prelu);
    valueOf.set(step.name, out);
  }
  const result = valueOf.get(graph.outputName);
  if (!result) throw new Error(`the output '${graph.outputName}' is computed by no step`);
  b.node('Identity', [result.value], ONNX_OUTPUT);

  const dim = (v: number | null, param: string): onnx.TensorShapeProto.IDimension => (v === null ? { dimParam: param } : { dimValue: v });
  const valueInfo = (name: string, dims: onnx.TensorShapeProto.IDimension[]): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims } } },
  });
  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'sr',
    producerVersion: options.producerVersion ?? '',
    docString: options.docString ?? '',
    graph: {
      name: options.name,
      node: b.nodes,
      initializer: b.initializers,
      input: [
        valueInfo(ONNX_INPUT, [{ dimParam: 'batch' }, dim(graph.inputChannels, 'channels'), { dimParam: 'height' }, { dimParam: 'width' }]),
      ],
      output: [
        valueInfo(ONNX_OUTPUT, [
          { dimParam: 'batch' },
          dim(result.channels, 'out_channels'),
          { dimParam: 'out_height' },
          { dimParam: 'out_width' },
        ]),
      ],
    },
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** The metadata_props of a serialised model (undefined when the bytes are not an ONNX model). */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> | undefined {
  try {
    const model = onnx.ModelProto.decode(bytes);
    if (!model.graph) return undefined;
    return Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  } catch {
    return undefined;
  }
}
