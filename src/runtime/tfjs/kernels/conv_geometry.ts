/**
 * Index arithmetic for rewriting the two convolution gradients as forward (stride-1) convolutions.
 *
 * Everything here is per spatial axis and pure, so the formulas can be checked without tensors.
 * Notation for one axis of the forward convolution y = conv(x, w):
 *   in      input length            k       filter length (dilation 1: tfjs has no dilated conv gradients)
 *   out     output length (dy)      s       stride
 *   before  zero padding added before the input by the forward pass (the 'same' top/left offset)
 * so that y[o] = sum_j x[o*s + j - before] * w[j].
 */

/** Padding for a stride-1 convolution along one axis; a negative amount means cropping that many elements. */
export interface AxisPadding {
  before: number;
  after: number;
}

/** One axis of a forward convolution, as tfjs's computeConv2DInfo describes it. */
export interface ConvAxis {
  inSize: number;
  filterSize: number;
  stride: number;
  outSize: number;
  padBefore: number;
}

/**
 * The input gradient along one axis, split by output phase. dx[i] = sum_j dy[o] w[j] over o*s + j - before = i.
 * Writing i = s*q + r, the terms for a fixed phase r form a stride-1 correlation over q:
 * dx[s*q + r] = sum_u dy[q + firstOffset + u] * w[r + before - s*(firstOffset + u)], the filter index
 * running backwards (the spatial flip) in steps of s. All phases share `taps` and `firstOffset` (taps a phase
 * lacks are zero), so one convolution with s*s times the channels computes every phase at once, and
 * interleaving the phases (a pixel shuffle) gives dx. This costs about ceil(k/s)^2 multiply-adds per dx
 * element instead of k^2 when dy is upsampled with zeros and convolved directly.
 */
export interface PolyphaseAxis {
  /** Number of phases, the forward stride. */
  phases: number;
  /** Filter length shared by all phases. */
  taps: number;
  /** Offset into dy of tap 0, relative to q. */
  firstOffset: number;
  /** Outputs per phase: ceil(inSize / stride); the shuffled result has phases*phaseLength >= inSize elements. */
  phaseLength: number;
  /** Padding of dy for the stride-1 convolution producing phaseLength outputs. */
  padding: AxisPadding;
}

export function polyphaseAxis(axis: ConvAxis): PolyphaseAxis {
  const { inSize, filterSize: k, stride: s, outSize, padBefore: p } = axis;
  // The lowest offset some phase reaches is phase 0 with filter index k-1; the highest, phase s-1 with index 0.
  const firstOffset = Math.ceil((p - k + 1) / s);
  const lastOffset = Math.floor((s - 1 + p) / s);
  const taps = lastOffset - firstOffset + 1;
  const phaseLength = Math.ceil(inSize / s);
  const before = -firstOffset;
  const after = phaseLength + taps - 1 - outSize - before;
  return { phases: s, taps, firstOffset, phaseLength, padding: { before, after } };
}

/** Index into the forward filter that phase `phase`, tap `tap` multiplies, or -1 where that phase has no tap. */
export function polyphaseFilterIndex(axis: ConvAxis, poly: PolyphaseAxis, phase: number, tap: number): number {
  const j = phase + axis.padBefore - axis.stride * (poly.firstOffset + tap);
  return j >= 0 && j < axis.filterSize ? j : -1;
}

/**
 * Filter gradient: dw[j] = sum_o x[o*s + j - before] dy[o], a correlation of x with dy used as a filter
 * dilated by s. Padding x by `before` in front aligns j = 0; the output must have exactly `filterSize`
 * elements, so the padded x needs filterSize + (out-1)*s elements. When the stride does not divide the
 * covered length, the forward pass never read the last input rows, and `after` comes out negative: crop them.
 */
export function filterGradPadding(axis: ConvAxis): AxisPadding {
  const before = axis.padBefore;
  const after = axis.filterSize + (axis.outSize - 1) * axis.stride - axis.inSize - before;
  return { before, after };
}

/**
 * Filter gradient the other way round, for stride 1: dy as the convolution input and x as the filter.
 * With a the x index, dy is read at o = a - j + before; output index v = k-1-j then reads dy at
 * v + a - (k-1-before), so dy is padded by k-1-before in front and the result comes out reversed.
 */
export function reversedFilterGradPadding(axis: ConvAxis): AxisPadding {
  if (axis.stride !== 1) throw new Error('reversedFilterGradPadding: stride must be 1');
  const before = axis.filterSize - 1 - axis.padBefore;
  const after = axis.inSize + axis.filterSize - 1 - axis.outSize - before;
  return { before, after };
}

/** Splits signed padding into the part a convolution can pad (>= 0) and the part to slice off first. */
export function splitPadding(p: AxisPadding): { pad: AxisPadding; crop: AxisPadding } {
  return {
    pad: { before: Math.max(0, p.before), after: Math.max(0, p.after) },
    crop: { before: Math.max(0, -p.before), after: Math.max(0, -p.after) },
  };
}

/** The fields of tfjs's Conv2DInfo that the gradients need. */
export interface ConvInfoLike {
  inHeight: number;
  inWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padInfo: { top: number; left: number };
}

/**
 * Both axes of a forward convolution. The output sizes are dy's own, not recomputed, because a numeric
 * pad with a dimRoundingMode can make them differ from a fresh computation.
 */
export function convAxes(info: ConvInfoLike, dyRows: number, dyCols: number): { rows: ConvAxis; cols: ConvAxis } {
  return {
    rows: {
      inSize: info.inHeight,
      filterSize: info.filterHeight,
      stride: info.strideHeight,
      outSize: dyRows,
      padBefore: info.padInfo.top,
    },
    cols: {
      inSize: info.inWidth,
      filterSize: info.filterWidth,
      stride: info.strideWidth,
      outSize: dyCols,
      padBefore: info.padInfo.left,
    },
  };
}
