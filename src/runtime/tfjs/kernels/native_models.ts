/**
 * The small ONNX models native_conv.ts runs on ONNX Runtime: a convolution, its input gradient (a
 * ConvTranspose) and its filter gradient (matrix products). Pure: they only build protobufs.
 * Activations are NHWC as tfjs has them (Transposes around the NCHW operators), weights OIHW, and
 * only the sizes a model's Slices depend on are fixed; the rest is dynamic.
 */
import { onnx } from 'onnx-proto';
import { int, ints } from '../../onnx/attributes';

/** Zero padding added on each side of the two spatial axes. */
export interface ConvPadding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
/** NHWC <-> NCHW. */
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
/** Opset 13 has every operator used here (Conv, ConvTranspose, Gemm, Slice with steps, Pad) with its current inputs. */
const OPSET = 13;
const IR_VERSION = 7;

function dynamicInput(name: string): onnx.IValueInfoProto {
  const dim = [0, 1, 2, 3].map((i) => ({ dimParam: `${name}_${i}` }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

export interface Geometry {
  kernel: [number, number];
  padding: ConvPadding;
  strides: [number, number];
  dilations: [number, number];
}

export function geometryKey(g: Geometry): string {
  const p = g.padding;
  return [...g.kernel, p.top, p.bottom, p.left, p.right, ...g.strides, ...g.dilations].join(',');
}

/** A one-convolution model: NHWC activations in and out around an NCHW Conv or ConvTranspose. */
function convLikeModel(op: 'Conv' | 'ConvTranspose', g: Geometry, extra: onnx.IAttributeProto[]): Uint8Array {
  const p = g.padding;
  const node: onnx.INodeProto[] = [
    { opType: 'Transpose', input: ['x'], output: ['x_nchw'], attribute: [ints('perm', TO_NCHW)] },
    {
      opType: op,
      input: ['x_nchw', 'w'],
      output: ['y_nchw'],
      attribute: [
        ints('kernel_shape', g.kernel),
        ints('pads', [p.top, p.left, p.bottom, p.right]),
        ints('strides', g.strides),
        ints('dilations', g.dilations),
        int('group', 1),
        ...extra,
      ],
    },
    { opType: 'Transpose', input: ['y_nchw'], output: ['y'], attribute: [ints('perm', TO_NHWC)] },
  ];
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'sr',
    graph: { name: `${op} ${geometryKey(g)}`, node, input: [dynamicInput('x'), dynamicInput('w')], output: [dynamicInput('y')] },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** y = conv(x, w) for one geometry: x NHWC, w OIHW (see oihwWeights), y NHWC. */
export function convModel(g: Geometry): Uint8Array {
  return convLikeModel('Conv', g, []);
}

/**
 * dx for y = conv(x, w) from dy (NHWC) and the same OIHW weights: ONNX's ConvTranspose is that
 * gradient, its weight layout [C_in of the transpose = co, ci, kh, kw] being the forward
 * convolution's OIHW. `outputPadding` restores the input rows and columns that the forward
 * stride skipped at the end.
 */
export function inputGradModel(g: Geometry, outputPadding: [number, number]): Uint8Array {
  return convLikeModel('ConvTranspose', g, [ints('output_padding', outputPadding)]);
}

/** The forward convolution behind a filter gradient, with every size fixed (Slice ends depend on them). */
export interface FilterGradGeometry {
  /** x without its batch: [h, w, inChannels]. */
  input: [number, number, number];
  /** dy without its batch: [outH, outW, outChannels]. */
  output: [number, number, number];
  kernel: [number, number];
  strides: [number, number];
  /** The forward pass's zero padding before the input (top, left). */
  top: number;
  left: number;
}

function int64Constant(name: string, values: number[]): onnx.ITensorProto {
  // raw_data is little-endian whatever the host's order.
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dataType: INT64, dims: [values.length], rawData: bytes };
}

/**
 * Up to this many channels, the narrow side of a filter gradient is laid out tap by tap (im2col) and
 * the gradient is one matrix product; wider, one product per tap (see filterGradModel).
 */
export const NARROW_CHANNELS = 8;

export type FilterGradLayout = 'per-tap' | 'x-columns' | 'dy-columns';

/**
 * How filterGradModel lays the sum out. Both channel counts wide: one product per tap. Otherwise the
 * side with fewer channels is expanded into kh*kw shifted copies (cheap, it is narrow) so that one
 * product with a long inner dimension computes every tap: x's side always works, dy's only at
 * stride 1 (with a stride, dy's shifts would fall between samples).
 */
export function filterGradLayout(g: Pick<FilterGradGeometry, 'input' | 'output' | 'strides'>): FilterGradLayout {
  const ci = g.input[2];
  const co = g.output[2];
  const strideOne = g.strides[0] === 1 && g.strides[1] === 1;
  if (co < ci && co <= NARROW_CHANNELS && strideOne) return 'dy-columns';
  if (ci <= NARROW_CHANNELS) return 'x-columns';
  return 'per-tap';
}

/**
 * dw[i, j, :, :] = sum over (n, oh, ow) of x_padded[n, oh*s + i, ow*s + j, :]^T dy[n, oh, ow, :].
 * As a convolution (how the wasm kernel does it) the "filter" would be dy, as large as the image,
 * which ONNX Runtime's im2col handles slowly; here it is matrix products with a long inner
 * dimension (n*outH*outW or n*h*w), at GEMM speed, in the layout filterGradLayout picks:
 *  - per-tap: the tap's strided window of x (Slice), [n*outH*outW x ci]^T by dy [n*outH*outW x co];
 *  - x-columns: the windows side by side ([n*outH*outW x kh*kw*ci]), one product with dy;
 *  - dy-columns (stride 1): for each tap, dy shifted to line up with x (zero where no output reads
 *    that input pixel), side by side ([n*h*w x kh*kw*co]), one product with x.
 */
export function filterGradModel(g: FilterGradGeometry): Uint8Array {
  const [h, w, ci] = g.input;
  const [oh, ow, co] = g.output;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const layout = filterGradLayout(g);
  const node: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [int64Constant('axes_hw', [1, 2])];
  const constant = (name: string, values: number[]): string => {
    initializer.push(int64Constant(name, values));
    return name;
  };
  /** `source` padded by the given amounts on the spatial axes, then one window per tap, as listed. */
  const windows = (
    source: string,
    pads: [number, number, number, number],
    starts: (i: number, j: number) => [number, number],
    length: [number, number],
    steps: [number, number],
  ): string[] => {
    let padded = source;
    if (pads.some((p) => p > 0)) {
      padded = `${source}_padded`;
      node.push({
        opType: 'Pad',
        input: [source, constant(`${source}_pads`, [0, pads[0], pads[2], 0, 0, pads[1], pads[3], 0])],
        output: [padded],
      });
    }
    const steps4 = constant(`${source}_steps`, steps);
    const out: string[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const [r, c] = starts(i, j);
        const name = `${source}_tap_${i}_${j}`;
        const ends = [r + (length[0] - 1) * steps[0] + 1, c + (length[1] - 1) * steps[1] + 1];
        node.push({
          opType: 'Slice',
          input: [padded, constant(`${name}_starts`, [r, c]), constant(`${name}_ends`, ends), 'axes_hw', steps4],
          output: [name],
        });
        out.push(name);
      }
    }
    return out;
  };
  const rows = (value: string, columns: number): string => {
    const out = `${value}_rows`;
    node.push({ opType: 'Reshape', input: [value, constant(`${value}_row_shape`, [-1, columns])], output: [out] });
    return out;
  };
  const concatChannels = (values: string[], name: string): string => {
    node.push({ opType: 'Concat', input: values, output: [name], attribute: [int('axis', 3)] });
    return name;
  };
  // Padding of x after the input: only as far as the last tap reaches.
  const xPads: [number, number, number, number] = [
    g.top,
    Math.max(0, (oh - 1) * sh + kh - g.top - h),
    g.left,
    Math.max(0, (ow - 1) * sw + kw - g.left - w),
  ];
  if (layout === 'per-tap') {
    const dyRows = rows('dy', co);
    const taps = windows('x', xPads, (i, j) => [i, j], [oh, ow], [sh, sw]).map((tap) => {
      node.push({ opType: 'Gemm', input: [rows(tap, ci), dyRows], output: [`${tap}_dw`], attribute: [int('transA', 1)] });
      return `${tap}_dw`;
    });
    node.push({ opType: 'Concat', input: taps, output: ['taps'], attribute: [int('axis', 0)] });
    node.push({ opType: 'Reshape', input: ['taps', constant('hwio', [kh, kw, ci, co])], output: ['dw'] });
  } else if (layout === 'x-columns') {
    const columns = concatChannels(
      windows('x', xPads, (i, j) => [i, j], [oh, ow], [sh, sw]),
      'x_columns',
    );
    node.push({ opType: 'Gemm', input: [rows(columns, kh * kw * ci), rows('dy', co)], output: ['dw_rows'], attribute: [int('transA', 1)] });
    node.push({ opType: 'Reshape', input: ['dw_rows', constant('hwio', [kh, kw, ci, co])], output: ['dw'] });
  } else {
    // Input pixel q meets dy[q - i + top] through tap i; dy padded so that every such index exists.
    const before = [Math.max(0, kh - 1 - g.top), Math.max(0, kw - 1 - g.left)];
    const dyPads: [number, number, number, number] = [before[0], Math.max(0, h + g.top - oh), before[1], Math.max(0, w + g.left - ow)];
    const shifted = windows('dy', dyPads, (i, j) => [g.top - i + before[0], g.left - j + before[1]], [h, w], [1, 1]);
    const columns = concatChannels(shifted, 'dy_columns');
    node.push({ opType: 'Gemm', input: [rows('x', ci), rows(columns, kh * kw * co)], output: ['dw_iwo'], attribute: [int('transA', 1)] });
    node.push({ opType: 'Reshape', input: ['dw_iwo', constant('ihwo', [ci, kh, kw, co])], output: ['dw_ihwo'] });
    node.push({ opType: 'Transpose', input: ['dw_ihwo'], output: ['dw'], attribute: [ints('perm', [1, 2, 0, 3])] });
  }
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'sr',
    graph: {
      name: `conv filter gradient (${layout})`,
      node,
      initializer,
      input: [dynamicInput('x'), dynamicInput('dy')],
      output: [dynamicInput('dw')],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
