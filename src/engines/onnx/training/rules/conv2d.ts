/**
 * Conv2D: y = act(conv(x, W) + b), with TensorFlow's 'same' (extra pixel after) or 'valid' padding
 * and any stride; W stays HWIO and is transposed to ONNX's OIHW inside the graph.
 *
 * Backward, with dz the gradient before the activation:
 * - db = sum of dz over batch and space;
 * - dW[o, i, p, q] = sum over n, y, x of dz[n, o, y, x] * xpad[n, i, s*y + p, s*x + q], written in
 *   one of four shapes, whichever ONNX Runtime's CPU provider runs fastest for the layer (see
 *   filterGradient; docs/training-engine.md has the measurements);
 * - dx at stride 1 is a Conv of dz with the kernel flipped in space and its in/out axes swapped,
 *   padded by k - 1 - pad on each side (ONNX Runtime runs a Conv faster than the ConvTranspose
 *   that is its textbook form); at larger strides it is that ConvTranspose.
 */
import { attr, type GraphBuilder, type Value } from '../builder';
import { activate, activationGrad, activationKind, type ActivationKind } from './activation';
import { layerConfig, pair, type LayerRule } from './rule';

interface Conv2DConfig {
  strides: number | number[];
  padding: 'same' | 'valid' | 'causal';
  dilationRate: number | number[];
  activation: string;
  useBias: boolean;
  dataFormat: string;
}

interface ConvGeometry {
  kernel: [number, number];
  strides: [number, number];
  /** ONNX pads: [top, left, bottom, right]. */
  pads: [number, number, number, number];
  outSize: [number, number];
}

/** TensorFlow's padding as explicit pads for a static input size. */
export function convGeometry(size: [number, number], kernel: [number, number], strides: [number, number], padding: string): ConvGeometry {
  const pads: [number, number, number, number] = [0, 0, 0, 0];
  const outSize: [number, number] = [0, 0];
  for (const a of [0, 1]) {
    if (padding === 'same') {
      outSize[a] = Math.ceil(size[a] / strides[a]);
      const total = Math.max((outSize[a] - 1) * strides[a] + kernel[a] - size[a], 0);
      pads[a] = Math.floor(total / 2);
      pads[a + 2] = total - pads[a];
    } else {
      outSize[a] = Math.floor((size[a] - kernel[a]) / strides[a]) + 1;
    }
  }
  return { kernel, strides, pads, outSize };
}

interface Saved {
  geometry: ConvGeometry;
  activation: ActivationKind;
  oihw: Value;
  z: Value;
}

/** The Conv2D settings the rule does not write, as the reason a layer cannot train here. */
function unsupportedConv(layer: { getConfig(): unknown }): string | undefined {
  const c = layerConfig<Conv2DConfig>(layer as never);
  if (pair(c.dilationRate).some((d) => d !== 1)) return 'Conv2D with dilation';
  if (c.dataFormat && c.dataFormat !== 'channelsLast') return `Conv2D ${c.dataFormat}`;
  if (c.padding !== 'same' && c.padding !== 'valid') return `Conv2D padding ${c.padding}`;
  return undefined;
}

function readConfig(layer: { name: string; getConfig(): unknown }): {
  strides: [number, number];
  padding: string;
  activation: ActivationKind;
} {
  const c = layerConfig<Conv2DConfig>(layer as never);
  return { strides: pair(c.strides), padding: c.padding!, activation: activationKind(c.activation, layer.name) };
}

/** The filter gradient in HWIO: one Conv over the batch-as-channels view (see the file comment). */
function filterGradientByConv(b: GraphBuilder, x: Value, dz: Value, g: ConvGeometry, base: string): Value {
  const [kh, kw] = g.kernel;
  const xt = b.transpose(x, [1, 0, 2, 3], `${base}/x_t`);
  const dzt = b.transpose(dz, [1, 0, 2, 3], `${base}/dz_t`);
  const [ho, wo] = g.outSize;
  const [sh, sw] = g.strides;
  const fullH = x.shape[2] + g.pads[0] + g.pads[2] - (ho - 1) * sh;
  const fullW = x.shape[3] + g.pads[1] + g.pads[3] - (wo - 1) * sw;
  let dw = b.op('Conv', [xt, dzt], [x.shape[1], dz.shape[1], fullH, fullW], `${base}/dw_conv`, [
    attr.ints('kernel_shape', [ho, wo]),
    attr.ints('dilations', [sh, sw]),
    attr.ints('pads', g.pads),
  ]);
  // With a stride that does not divide the padded size, the last rows and columns are no tap.
  if (fullH !== kh || fullW !== kw) dw = b.slice(dw, [2, 3], [0, 0], [kh, kw], `${base}/dw_crop`);
  return b.transpose(dw, [2, 3, 0, 1], `${base}/dw`);
}

/**
 * The filter gradient in HWIO as one Gemm per filter tap: dW[p, q] = x_pq^T dz over
 * K = Ho*Wo*N, where x_pq is the padded input's window for tap (p, q). The input is laid out
 * NHWC once, so each window is a Slice of whole Wo*in runs (long copies), and each
 * product is [K, in]^T x [K, out].
 */
function filterGradientByTaps(b: GraphBuilder, x: Value, dz: Value, g: ConvGeometry, base: string): Value {
  const [kh, kw] = g.kernel;
  const [n, cin, h, w] = x.shape;
  const cout = dz.shape[1];
  const [ho, wo] = g.outSize;
  const [sh, sw] = g.strides;
  const [pt, pl, pb, pr] = g.pads;
  const xh = b.transpose(x, [0, 2, 3, 1], `${base}/x_nhwc`);
  const padded =
    pt + pl + pb + pr === 0
      ? xh
      : b.op('Pad', [xh, b.int64s([0, pt, pl, 0, 0, pb, pr, 0])], [n, h + pt + pb, w + pl + pr, cin], `${base}/x_pad`);
  const k = n * ho * wo;
  const dzm = b.reshape(b.transpose(dz, [0, 2, 3, 1], `${base}/dz_nhwc`), [k, cout], `${base}/dz_mat`);
  const taps: Value[] = [];
  for (let p = 0; p < kh; p++) {
    for (let q = 0; q < kw; q++) {
      const window = b.op(
        'Slice',
        [padded, b.int64s([p, q]), b.int64s([p + (ho - 1) * sh + 1, q + (wo - 1) * sw + 1]), b.int64s([1, 2]), b.int64s([sh, sw])],
        [n, ho, wo, cin],
        `${base}/x_tap`,
      );
      const mat = b.reshape(window, [k, cin], `${base}/x_tap_mat`);
      taps.push(b.op('Gemm', [mat, dzm], [cin, cout], `${base}/dw_tap`, [attr.int('transA', 1)]));
    }
  }
  const stacked = b.op('Concat', taps, [kh * kw * cin, cout], `${base}/dw_taps`, [attr.int('axis', 0)]);
  return b.reshape(stacked, [kh, kw, cin, cout], `${base}/dw`);
}

/**
 * The filter gradient of a stride-1 convolution with fewer outputs than inputs (SRResNet's RGB
 * tail, SRCNN's last two layers): the same Conv with the roles of x and dz exchanged, so ONNX
 * Runtime's im2col copies the narrow dz (padded by k - 1 on every side) once per output channel
 * instead of the wide x once per input channel. Its [out, in, kh, kw] result is dW flipped in space.
 */
function filterGradientByDzConv(b: GraphBuilder, x: Value, dz: Value, g: ConvGeometry, base: string): Value {
  const [kh, kw] = g.kernel;
  const [n, cin, h, w] = x.shape;
  const cout = dz.shape[1];
  const [pt, pl, pb, pr] = g.pads;
  const [hp, wp] = [h + pt + pb, w + pl + pr];
  // Padded before the transpose: ONNX Runtime's Pad-into-Conv fusion would otherwise take a Pad
  // that feeds a Conv's weight for one that feeds its input, and drop it.
  const padded = pt + pl + pb + pr === 0 ? x : b.op('Pad', [x, b.int64s([0, 0, pt, pl, 0, 0, pb, pr])], [n, cin, hp, wp], `${base}/x_pad`);
  const kernel = b.transpose(padded, [1, 0, 2, 3], `${base}/x_t`);
  const dzt = b.transpose(dz, [1, 0, 2, 3], `${base}/dz_t`);
  const flipped = b.op('Conv', [dzt, kernel], [cout, cin, kh, kw], `${base}/dw_conv`, [
    attr.ints('kernel_shape', [hp, wp]),
    attr.ints('pads', [kh - 1, kw - 1, kh - 1, kw - 1]),
  ]);
  const dw = b.reverse(flipped, [2, 3], `${base}/dw_unflip`);
  return b.transpose(dw, [2, 3, 1, 0], `${base}/dw`);
}

/**
 * The filter gradient in HWIO as one Gemm over an im2col matrix that a single Gather builds from
 * the narrower of x and dz (NHWC rows; an appended zero row stands for every position outside
 * the image). ONNX Runtime's own im2col would leave the Gemm only kh*kw wide; here it is
 * kh*kw*channels wide, with K the positions of the other side (N*H*W of x, or N*Ho*Wo of dz), so
 * the product runs at full speed on every thread.
 */
function filterGradientByGather(b: GraphBuilder, x: Value, dz: Value, g: ConvGeometry, base: string): Value {
  const [kh, kw] = g.kernel;
  const [n, cin, h, w] = x.shape;
  const cout = dz.shape[1];
  const [ho, wo] = g.outSize;
  const [sh, sw] = g.strides;
  const [pt, pl] = g.pads;
  const taps = kh * kw;
  const nhwcRows = (v: Value, count: number, label: string) =>
    b.reshape(b.transpose(v, [0, 2, 3, 1], `${base}/${label}_nhwc`), [count, v.shape[1]], `${base}/${label}_rows`);
  /**
   * [N*gh*gw, taps*c]: for each position of an N x gh x gw grid and each tap, the channels of the
   * position of `v` (N x vh x vw) that `at` names, or zeros where it names none (null).
   */
  const columns = (
    v: Value,
    [gh, gw]: number[],
    label: string,
    at: (row: number, col: number, p: number, q: number) => [number, number] | null,
  ) => {
    const [vh, vw, c] = [v.shape[2], v.shape[3], v.shape[1]];
    const zeroRow = n * vh * vw;
    const indices: number[] = new Array(n * gh * gw * taps);
    let k = 0;
    for (let image = 0; image < n; image++)
      for (let row = 0; row < gh; row++)
        for (let col = 0; col < gw; col++)
          for (let p = 0; p < kh; p++)
            for (let q = 0; q < kw; q++) {
              const source = at(row, col, p, q);
              indices[k++] = source ? (image * vh + source[0]) * vw + source[1] : zeroRow;
            }
    const zero = b.constant(`${base}/${label}_zero`, new Float32Array(c), [1, c]);
    const withZero = b.op('Concat', [nhwcRows(v, zeroRow, label), zero], [zeroRow + 1, c], `${base}/${label}_rows0`, [attr.int('axis', 0)]);
    const count = n * gh * gw;
    const index = b.int64Tensor(`${base}/${label}_cols`, indices, [count, taps]);
    const gathered = b.op('Gather', [withZero, index], [count, taps, c], `${base}/${label}_col`);
    return b.reshape(gathered, [count, taps * c], `${base}/${label}_cols_mat`);
  };
  const inside = (y: number, x: number, [hh, ww]: number[]): [number, number] | null =>
    y >= 0 && y < hh && x >= 0 && x < ww ? [y, x] : null;
  if (cout <= cin) {
    // Rows are x's positions; tap (p, q) of a row is the dz position it feeds, if any.
    const cols = columns(dz, [h, w], 'dz', (row, col, p, q) => {
      const [dy, dx] = [row + pt - p, col + pl - q];
      return dy % sh === 0 && dx % sw === 0 ? inside(dy / sh, dx / sw, [ho, wo]) : null;
    });
    const dw = b.op('Gemm', [nhwcRows(x, n * h * w, 'x'), cols], [cin, taps * cout], `${base}/dw_gemm`, [attr.int('transA', 1)]);
    return b.transpose(b.reshape(dw, [cin, kh, kw, cout], `${base}/dw_ihwo`), [1, 2, 0, 3], `${base}/dw`);
  }
  // Rows are dz's positions; tap (p, q) of a row is the x position under it, if inside the image.
  const cols = columns(x, [ho, wo], 'x', (row, col, p, q) => inside(row * sh + p - pt, col * sw + q - pl, [h, w]));
  const dw = b.op('Gemm', [cols, nhwcRows(dz, n * ho * wo, 'dz')], [taps * cin, cout], `${base}/dw_gemm`, [attr.int('transA', 1)]);
  return b.reshape(dw, [kh, kw, cin, cout], `${base}/dw`);
}

/** The most the gathered im2col form may hold: its float32 matrix plus its int64 indices. */
const GATHER_BUDGET_BYTES = 512 * 2 ** 20;

/** What the gathered form would hold for this layer (it gathers the narrower side; see filterGradientByGather). */
function gatheredBytes(x: Value, dz: Value, g: ConvGeometry): number {
  const [n, cin, h, w] = x.shape;
  const cout = dz.shape[1];
  const positions = cout <= cin ? n * h * w : n * g.outSize[0] * g.outSize[1];
  const taps = g.kernel[0] * g.kernel[1];
  return positions * taps * (4 * Math.min(cin, cout) + 8);
}

/**
 * The filter gradient in HWIO. SR_DW=taps|gather|conv forces one form (a development switch for timing
 * the forms against each other, test/engines/onnx/training/scripts/ab-step.ts).
 */
export function filterGradient(b: GraphBuilder, x: Value, dz: Value, g: ConvGeometry, base: string): Value {
  const mode = process.env.SR_DW ?? 'auto';
  if (mode === 'taps') return filterGradientByTaps(b, x, dz, g, base);
  if (mode === 'gather') return filterGradientByGather(b, x, dz, g, base);
  const stride1 = g.strides[0] === 1 && g.strides[1] === 1;
  // A small kernel leaves the Conv forms a Gemm only kh*kw wide; per-tap Gemms are full width.
  if (mode === 'auto' && g.kernel[0] * g.kernel[1] <= 9) return filterGradientByTaps(b, x, dz, g, base);
  // With both sides wide, one Gemm over a gathered im2col runs far faster than either Conv form,
  // while its matrix (and the index initializer beside it) fits a modest memory budget.
  if (mode === 'auto' && Math.min(x.shape[1], dz.shape[1]) >= 16 && gatheredBytes(x, dz, g) <= GATHER_BUDGET_BYTES)
    return filterGradientByGather(b, x, dz, g, base);
  if (mode === 'auto' && stride1 && dz.shape[1] < x.shape[1]) return filterGradientByDzConv(b, x, dz, g, base);
  return filterGradientByConv(b, x, dz, g, base);
}

export function inputGradient(b: GraphBuilder, dz: Value, kernel: Value, oihw: Value, x: Value, g: ConvGeometry, base: string): Value {
  const [kh, kw] = g.kernel;
  if (g.strides[0] === 1 && g.strides[1] === 1) {
    // HWIO -> [in, out, kh, kw], reversed in both spatial axes.
    const swapped = b.transpose(kernel, [2, 3, 0, 1], `${base}/w_io`);
    const flipped = b.reverse(swapped, [2, 3], `${base}/w_flip`);
    const [pt, pl, pb, pr] = g.pads;
    return b.op('Conv', [dz, flipped], x.shape, `${base}/dx`, [
      attr.ints('kernel_shape', [kh, kw]),
      attr.ints('pads', [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr]),
    ]);
  }
  const [ho, wo] = g.outSize;
  const outputPadding = [0, 1].map((a) => x.shape[2 + a] - (([ho, wo][a] - 1) * g.strides[a] + g.kernel[a] - g.pads[a] - g.pads[a + 2]));
  return b.op('ConvTranspose', [dz, oihw], x.shape, `${base}/dx`, [
    attr.ints('kernel_shape', [kh, kw]),
    attr.ints('strides', g.strides),
    attr.ints('pads', g.pads),
    attr.ints('output_padding', outputPadding),
  ]);
}

export const conv2dRule: LayerRule = {
  classNames: ['Conv2D'],
  unsupported: unsupportedConv,
  forward({ b, layer, name, inputs, weights }) {
    const { strides, padding, activation } = readConfig(layer);
    const x = inputs[0];
    const [kh, kw, , cout] = weights[0].shape;
    const g = convGeometry([x.shape[2], x.shape[3]], [kh, kw], strides, padding);
    const oihw = b.transpose(weights[0], [3, 2, 0, 1], `${name}/w_oihw`);
    const convInputs = weights.length > 1 ? [x, oihw, weights[1]] : [x, oihw];
    const z = b.op('Conv', convInputs, [x.shape[0], cout, g.outSize[0], g.outSize[1]], `${name}/conv`, [
      attr.ints('kernel_shape', [kh, kw]),
      attr.ints('strides', strides),
      attr.ints('pads', g.pads),
    ]);
    const saved: Saved = { geometry: g, activation, oihw, z };
    return { output: activate(b, activation, z, name), saved };
  },
  backward({ b, name, inputs, weights, output, dy, saved, needInputs, needWeights }) {
    const { geometry, activation, oihw, z } = saved as Saved;
    const dz = activationGrad(b, activation, z, output, dy, name);
    const grads: (Value | undefined)[] = [needWeights[0] ? filterGradient(b, inputs[0], dz, geometry, name) : undefined];
    if (weights.length > 1) grads.push(needWeights[1] ? b.reduceSum(dz, [0, 2, 3], `${name}/db`, false) : undefined);
    const dx = needInputs[0] ? inputGradient(b, dz, weights[0], oihw, inputs[0], geometry, name) : undefined;
    return { inputs: [dx], weights: grads };
  },
};
