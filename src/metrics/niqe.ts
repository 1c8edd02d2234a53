/**
 * NIQE, the Natural Image Quality Evaluator (Mittal, Soundararajan and Bovik, "Making a Completely
 * Blind Image Quality Analyzer", IEEE Signal Processing Letters 2013): a no-reference score, lower
 * is more natural, that perceptual super-resolution papers (PIRM, BasicSR) report beside PSNR.
 *
 * It is computed as MATLAB's `niqe` and BasicSR's `calculate_niqe` compute it, because the point of
 * the number is to be comparable with published ones:
 * - the input is the 8-bit rounded Y channel (BT.601), as doubles in 0..255;
 * - the image is cropped (bottom and right) to whole 96x96 blocks, then split into them without overlap;
 * - MSCN coefficients (x - mu) / (sigma + 1), mu and sigma from the model's 7x7 Gaussian window
 *   with the border replicated (imfilter 'replicate');
 * - per block 18 features: an asymmetric generalized Gaussian (AGGD) fit of the MSCN values (shape
 *   and mean scale) and of their products with the horizontal, vertical and both diagonal
 *   neighbours, taken circularly within the block (shape, mean, left and right scale);
 * - the same on the cropped image halved by MATLAB's antialiased bicubic imresize (mirrored
 *   border), with 48x48 blocks, so block i of both scales covers the same area: 36 features;
 * - the distance between a multivariate Gaussian fitted to the blocks and the pristine model,
 *   sqrt(d' pinv((cov_pris + cov) / 2) d) with d = mu_pris - mu.
 * The statistics are float64. The halving goes through the project's tfjs imresize in float32: at
 * a factor of 0.5 its weights are multiples of 1/256, so for 8-bit input its values are those of
 * double precision (on Set5 and Set14 all but a few pixels exactly, those within one float32 step).
 * The second scale's MSCN coefficients are rounded to float32 at each step (see mscn()), as the
 * reference figures were computed; in double precision, exactly flat areas (black backgrounds,
 * screenshots) would move the score by up to 0.03.
 */
import * as tf from '@tensorflow/tfjs';
import { SrError } from '../core/errors';
import { luma } from '../image/color';
import { imresize } from '../image/resize';
import { quantize, quantizeUnit } from '../image/tensor';
import pristine from './niqe-pristine.json';

/** Side of the square blocks at full scale (MATLAB's default BlockSize). */
export const NIQE_BLOCK_SIZE = 96;

/**
 * The fewest whole blocks NIQE is computed on. The block features' covariance is a sample
 * covariance (normalised by N - 1): with one block it is undefined (BasicSR returns NaN), so two
 * is the least that gives a number. Scores from a handful of blocks are noisy; the published ones
 * come from whole test images (Set5's smallest, head, holds 4 blocks).
 */
export const NIQE_MIN_BLOCKS = 2;

/** Whether a picture of width x height, less `border` pixels on each side, holds enough whole blocks for NIQE. */
export function niqeFits(width: number, height: number, border = 0): boolean {
  const blocks = (side: number) => Math.max(0, Math.floor((side - 2 * border) / NIQE_BLOCK_SIZE));
  return blocks(width) * blocks(height) >= NIQE_MIN_BLOCKS;
}

/** Features per block and scale, and the number of scales. */
const FEATURES_PER_SCALE = 18;
const SCALES = 2;
const FEATURES = FEATURES_PER_SCALE * SCALES;

// ---------------------------------------------------------------------------------------------
// The pristine model
// ---------------------------------------------------------------------------------------------

interface PristineModel {
  mu: Float64Array;
  /** FEATURES x FEATURES, row-major. */
  cov: Float64Array;
  /** The 7x7 window, row-major, and its side. */
  window: Float64Array;
  windowSize: number;
}

function loadPristine(): PristineModel {
  const mu = Float64Array.from(pristine.mu_pris_param.flat());
  const cov = Float64Array.from(pristine.cov_pris_param.flat());
  const window = Float64Array.from(pristine.gaussian_window.flat());
  const windowSize = pristine.gaussian_window.length;
  if (mu.length !== FEATURES || cov.length !== FEATURES * FEATURES || window.length !== windowSize * windowSize) {
    throw new Error('niqe-pristine.json does not hold a 36-feature NIQE model');
  }
  return { mu, cov, window, windowSize };
}

const PRISTINE = loadPristine();

// ---------------------------------------------------------------------------------------------
// The gamma function and the shape lookup table
// ---------------------------------------------------------------------------------------------

/** Lanczos coefficients (g = 7, n = 9): about 15 significant digits for positive arguments. */
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** The gamma function for x > 0 (the lookup only needs 0.1 .. 15). */
export function gamma(x: number): number {
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gamma(1 - x)); // reflection
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return Math.sqrt(2 * Math.PI) * Math.pow(t, z + 0.5) * Math.exp(-t) * sum;
}

/** Candidate shapes 0.2:0.001:10, as the reference implementations search them. */
const SHAPE_FIRST = 200;
const SHAPE_LAST = 10000;
const SHAPE_STEP = 1000;

interface ShapeTable {
  shapes: Float64Array;
  /** Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) for each candidate shape a. */
  ratios: Float64Array;
}

let shapeTable: ShapeTable | undefined;

/** Built on first use: 9,801 entries, a few milliseconds. */
function getShapeTable(): ShapeTable {
  if (shapeTable) return shapeTable;
  const n = SHAPE_LAST - SHAPE_FIRST + 1;
  const shapes = new Float64Array(n);
  const ratios = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const a = (SHAPE_FIRST + k) / SHAPE_STEP;
    shapes[k] = a;
    ratios[k] = gamma(2 / a) ** 2 / (gamma(1 / a) * gamma(3 / a));
  }
  shapeTable = { shapes, ratios };
  return shapeTable;
}

// ---------------------------------------------------------------------------------------------
// MSCN coefficients and the AGGD fit
// ---------------------------------------------------------------------------------------------

/**
 * Mean-subtracted contrast-normalised coefficients of a [height, width] image: local mean and
 * deviation from a square window, the border replicated. sigma is sqrt(|E[x^2] - mu^2|) (the
 * absolute value guards the rounding of flat areas) and the + 1 keeps flat areas finite.
 *
 * With `single`, every step is rounded to float32 (Math.fround) as the reference computes the
 * second scale: the filters accumulate in double and store single, then the arithmetic is single.
 * It matters in exactly flat areas only: there the mean rounds to the pixel value and the
 * coefficient is exactly 0, where double precision leaves about 1e-15 of rounding error. The AGGD
 * fit splits values by sign, so those would-be zeros change the features (Set5's head, with a
 * flat background, moves by 0.03).
 */
export function mscn(
  image: Float64Array,
  width: number,
  height: number,
  options: { single?: boolean; window?: Float64Array; windowSize?: number } = {},
): Float64Array {
  const window = options.window ?? PRISTINE.window;
  const windowSize = options.windowSize ?? PRISTINE.windowSize;
  const round = options.single ? Math.fround : (x: number) => x;
  const r = windowSize >> 1;
  const pw = width + 2 * r;
  const ph = height + 2 * r;
  // The image and its square, padded by replicating the border (imfilter 'replicate').
  const padded = new Float64Array(pw * ph);
  const paddedSq = new Float64Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(height - 1, Math.max(0, y - r));
    for (let x = 0; x < pw; x++) {
      const sx = Math.min(width - 1, Math.max(0, x - r));
      const v = round(image[sy * width + sx]);
      padded[y * pw + x] = v;
      paddedSq[y * pw + x] = round(v * v);
    }
  }
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let mean = 0;
      let meanSq = 0;
      for (let dy = 0; dy < windowSize; dy++) {
        const row = (y + dy) * pw + x;
        const wrow = dy * windowSize;
        for (let dx = 0; dx < windowSize; dx++) {
          const w = window[wrow + dx];
          mean += w * padded[row + dx];
          meanSq += w * paddedSq[row + dx];
        }
      }
      const mu = round(mean);
      const sigma = round(Math.sqrt(Math.abs(round(round(meanSq) - round(mu * mu)))));
      out[y * width + x] = round(round(round(image[y * width + x]) - mu) / round(sigma + 1));
    }
  }
  return out;
}

export interface AggdFit {
  /** Shape. */
  alpha: number;
  /** Left and right scales. */
  betaLeft: number;
  betaRight: number;
}

/**
 * Fits an asymmetric generalized Gaussian by moment matching: the shape is the candidate whose
 * gamma ratio is nearest the (asymmetry-corrected) ratio mean(|x|)^2 / mean(x^2), the first one on
 * a tie; the side deviations are root mean squares of the negative and positive values. Zeros
 * count in neither side (but in the means), as in the authors' code: counting them on the right,
 * as MathWorks' port does, moves Set14's ppt3 (a screenshot) by 0.15. A side with no values gives
 * NaN scales (the block is then left out of the covariance), and the shape falls back to the
 * first candidate, as the references do.
 */
export function fitAggd(values: Float64Array): AggdFit {
  let leftSq = 0;
  let leftN = 0;
  let rightSq = 0;
  let rightN = 0;
  let sumAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0) {
      leftSq += v * v;
      leftN++;
      sumAbs -= v;
    } else if (v > 0) {
      rightSq += v * v;
      rightN++;
      sumAbs += v;
    }
  }
  const n = values.length;
  const leftStd = Math.sqrt(leftSq / leftN);
  const rightStd = Math.sqrt(rightSq / rightN);
  const g = leftStd / rightStd;
  const meanAbs = sumAbs / n;
  const rHat = (meanAbs * meanAbs) / ((leftSq + rightSq) / n);
  const rHatNorm = (rHat * (g ** 3 + 1) * (g + 1)) / (g ** 2 + 1) ** 2;
  const { shapes, ratios } = getShapeTable();
  let best = 0;
  let bestErr = (ratios[0] - rHatNorm) ** 2;
  for (let k = 1; k < ratios.length; k++) {
    const err = (ratios[k] - rHatNorm) ** 2;
    if (err < bestErr) {
      bestErr = err;
      best = k;
    }
  }
  const alpha = shapes[best];
  const scale = Math.sqrt(gamma(1 / alpha) / gamma(3 / alpha));
  return { alpha, betaLeft: leftStd * scale, betaRight: rightStd * scale };
}

/** Neighbour offsets [dy, dx] of the pairwise products: horizontal, vertical, main and secondary diagonal. */
const PAIR_SHIFTS: [number, number][] = [
  [0, 1],
  [1, 0],
  [1, 1],
  [1, -1],
];

/**
 * The 18 features of one square block of MSCN coefficients, written to out[offset ..]: the
 * block's AGGD shape and mean scale, then per neighbour direction the product's shape, mean,
 * left and right scale. Neighbours wrap around inside the block (MATLAB's circshift).
 */
function blockFeatures(
  coeffs: Float64Array,
  width: number,
  left: number,
  top: number,
  size: number,
  out: Float64Array,
  offset: number,
): void {
  const block = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    const src = (top + y) * width + left;
    block.set(coeffs.subarray(src, src + size), y * size);
  }
  let o = offset;
  const own = fitAggd(block);
  out[o++] = own.alpha;
  out[o++] = (own.betaLeft + own.betaRight) / 2;
  const pairs = new Float64Array(size * size);
  for (const [dy, dx] of PAIR_SHIFTS) {
    for (let y = 0; y < size; y++) {
      const ny = (y - dy + size) % size;
      for (let x = 0; x < size; x++) {
        const nx = (x - dx + size) % size;
        pairs[y * size + x] = block[y * size + x] * block[ny * size + nx];
      }
    }
    const fit = fitAggd(pairs);
    out[o++] = fit.alpha;
    out[o++] = (fit.betaRight - fit.betaLeft) * (gamma(2 / fit.alpha) / gamma(1 / fit.alpha));
    // The scales themselves, not their squares: the pristine model was fitted to these (the
    // paper's wording suggests variances; the authors' code and model store the betas).
    out[o++] = fit.betaLeft;
    out[o++] = fit.betaRight;
  }
}

/**
 * MATLAB's imresize(image, 0.5): antialiased bicubic, mirrored border. Through the project's
 * imresize (tfjs, float32): the values come back as doubles for the statistics.
 */
function halve(image: Float64Array, width: number, height: number): { image: Float64Array; width: number; height: number } {
  const half = tf.tidy(() => imresize(tf.tensor3d(Float32Array.from(image), [height, width, 1]), 0.5));
  try {
    const [h, w] = half.shape;
    return { image: Float64Array.from(half.dataSync()), width: w, height: h };
  } finally {
    half.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The distance to the pristine model
// ---------------------------------------------------------------------------------------------

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major) by cyclic Jacobi rotations, in
 * float64: accurate for small matrices whatever their conditioning. Returns the eigenvalues and
 * the eigenvectors as the columns of a row-major matrix.
 */
function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = a[i * n + j] ** 2;
        total += x;
        if (i !== j) off += x;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // The rotation angle that zeroes a[p][q], in the numerically stable form.
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** The spacing of doubles at x (MATLAB's eps(x)). */
function epsAt(x: number): number {
  return x === 0 ? Number.MIN_VALUE : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 52);
}

/**
 * Moore-Penrose pseudo-inverse of a symmetric matrix: eigenvalues whose magnitude is at most
 * MATLAB's pinv tolerance, n * eps(largest magnitude), are treated as zero.
 */
export function symmetricPinv(matrix: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const largest = values.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const tol = n * epsAt(largest);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    if (Math.abs(values[k]) <= tol) continue;
    const inv = 1 / values[k];
    for (let i = 0; i < n; i++) {
      const vi = vectors[i * n + k] * inv;
      if (vi === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vi * vectors[j * n + k];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// NIQE
// ---------------------------------------------------------------------------------------------

/** Whole blocks across and down an image of this size. */
function niqeBlocks(width: number, height: number): { across: number; down: number } {
  return { across: Math.floor(width / NIQE_BLOCK_SIZE), down: Math.floor(height / NIQE_BLOCK_SIZE) };
}

/**
 * The 36 features of every block, [blocks x 36] row-major, blocks in column-major order (as
 * MATLAB's blkproc visits them; the order does not change the score). `y` is the Y channel in
 * 0..255, row-major; it must hold at least one whole block.
 */
export function niqeFeatures(y: ArrayLike<number>, width: number, height: number): { blocks: number; features: Float64Array } {
  const { across, down } = niqeBlocks(width, height);
  const blocks = across * down;
  if (blocks === 0) throw new SrError(`NIQE needs an image of at least ${NIQE_BLOCK_SIZE}x${NIQE_BLOCK_SIZE}, got ${width}x${height}`);
  // Crop to whole blocks first: the filters' borders and the halving both see the cropped image.
  let image: Float64Array = new Float64Array(across * NIQE_BLOCK_SIZE * down * NIQE_BLOCK_SIZE);
  let w = across * NIQE_BLOCK_SIZE;
  let h = down * NIQE_BLOCK_SIZE;
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) image[row * w + col] = y[row * width + col];
  }
  const features = new Float64Array(blocks * FEATURES);
  for (let scale = 1; scale <= SCALES; scale++) {
    const size = NIQE_BLOCK_SIZE / scale;
    // The halved image is single precision (the tfjs imresize, as the reference's), and so is
    // the arithmetic of its coefficients; see mscn().
    const coeffs = mscn(image, w, h, { single: scale > 1 });
    for (let bx = 0; bx < across; bx++) {
      for (let by = 0; by < down; by++) {
        const index = bx * down + by;
        blockFeatures(coeffs, w, bx * size, by * size, size, features, index * FEATURES + (scale - 1) * FEATURES_PER_SCALE);
      }
    }
    if (scale < SCALES) ({ image, width: w, height: h } = halve(image, w, h));
  }
  return { blocks, features };
}

/**
 * The distance of block features to the pristine model. As the authors' code: the means skip
 * NaN per feature (nanmean), the covariance uses the blocks without any NaN (nancov, normalised by
 * N - 1). None of Set5 and Set14's blocks has a NaN, so the reference figures do not tell these
 * conventions apart from dropping NaN blocks before both.
 */
function distanceToPristine(features: Float64Array, blocks: number): number {
  const mu = new Float64Array(FEATURES);
  for (let f = 0; f < FEATURES; f++) {
    let sum = 0;
    let count = 0;
    for (let b = 0; b < blocks; b++) {
      const v = features[b * FEATURES + f];
      if (!Number.isNaN(v)) {
        sum += v;
        count++;
      }
    }
    mu[f] = sum / count;
  }
  const complete: number[] = [];
  for (let b = 0; b < blocks; b++) {
    if (!features.subarray(b * FEATURES, (b + 1) * FEATURES).some(Number.isNaN)) complete.push(b);
  }
  if (complete.length < NIQE_MIN_BLOCKS) {
    throw new SrError(
      `NIQE is undefined for this image: only ${complete.length} of its ${blocks} blocks have texture on both sides of their mean (is it flat?); at least ${NIQE_MIN_BLOCKS} are needed`,
    );
  }
  const n = complete.length;
  const completeMean = new Float64Array(FEATURES);
  for (const b of complete) for (let f = 0; f < FEATURES; f++) completeMean[f] += features[b * FEATURES + f] / n;
  const pooled = new Float64Array(FEATURES * FEATURES);
  for (let i = 0; i < FEATURES; i++) {
    for (let j = i; j < FEATURES; j++) {
      let s = 0;
      for (const b of complete) s += (features[b * FEATURES + i] - completeMean[i]) * (features[b * FEATURES + j] - completeMean[j]);
      const cov = s / (n - 1);
      const v = (PRISTINE.cov[i * FEATURES + j] + cov) / 2;
      pooled[i * FEATURES + j] = v;
      pooled[j * FEATURES + i] = v;
    }
  }
  const inv = symmetricPinv(pooled, FEATURES);
  const d = PRISTINE.mu.map((m, f) => m - mu[f]);
  let q = 0;
  for (let i = 0; i < FEATURES; i++) {
    let row = 0;
    for (let j = 0; j < FEATURES; j++) row += inv[i * FEATURES + j] * d[j];
    q += d[i] * row;
  }
  return Math.sqrt(q);
}

/**
 * NIQE of a Y channel: `y` row-major, width x height, values in 0..255 (the 8-bit rounded Y, as
 * the published figures use; unrounded values are scored as they are). Lower is more natural.
 * Throws an SrError when the image holds fewer than NIQE_MIN_BLOCKS whole 96x96 blocks or too few
 * blocks with texture.
 */
export function niqeOfLuma(y: Float64Array | Float32Array | Uint8Array, width: number, height: number): number {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || y.length !== width * height) {
    throw new Error(`niqeOfLuma: ${y.length} values do not make a ${width}x${height} image`);
  }
  const { across, down } = niqeBlocks(width, height);
  if (across * down < NIQE_MIN_BLOCKS) {
    throw new SrError(
      `NIQE needs at least ${NIQE_MIN_BLOCKS} whole ${NIQE_BLOCK_SIZE}x${NIQE_BLOCK_SIZE} blocks (e.g. ${NIQE_MIN_BLOCKS * NIQE_BLOCK_SIZE}x${NIQE_BLOCK_SIZE}); the image is ${width}x${height}`,
    );
  }
  const { blocks, features } = niqeFeatures(y, width, height);
  return distanceToPristine(features, blocks);
}

export interface NiqeOptions {
  /** Pixels cropped from each side first: the scale factor, as PSNR and SSIM crop. Default 0. */
  border?: number;
}

/**
 * NIQE of an image tensor [H, W, 1] (gray) or [H, W, 3] (RGB) in [0, 1], prepared as the scoring
 * of PSNR and SSIM prepares it: rounded to 8 bits, converted to the Y channel of BT.601 YCbCr
 * (rounded to 8 bits again, as MATLAB's rgb2ycbcr does on uint8; a gray image is its own Y), then
 * `border` pixels cropped from each side.
 */
export function niqeOfImage(image: tf.Tensor3D, options: NiqeOptions = {}): number {
  const border = options.border ?? 0;
  if (!Number.isInteger(border) || border < 0) throw new SrError(`NIQE border must be a whole number of pixels >= 0, got ${border}`);
  const [height, width, channels] = image.shape;
  if (channels !== 1 && channels !== 3) throw new SrError(`NIQE scores gray or RGB images, got ${channels} channels`);
  const h = height - 2 * border;
  const w = width - 2 * border;
  const { across, down } = niqeBlocks(Math.max(0, w), Math.max(0, h));
  if (across * down < NIQE_MIN_BLOCKS) {
    throw new SrError(
      `NIQE needs at least ${NIQE_MIN_BLOCKS} whole ${NIQE_BLOCK_SIZE}x${NIQE_BLOCK_SIZE} blocks (e.g. ${NIQE_MIN_BLOCKS * NIQE_BLOCK_SIZE}x${NIQE_BLOCK_SIZE}) after the border; the image is ${width}x${height} and the border ${border}`,
    );
  }
  // quantize() gives whole numbers 0..255 exactly, unlike quantizeUnit() * 255 in float32.
  const y = tf.tidy(() => quantize(luma(quantizeUnit(image, 8)), 8).slice([border, border, 0], [h, w, 1]));
  try {
    return niqeOfLuma(Float64Array.from(y.dataSync()), w, h);
  } finally {
    y.dispose();
  }
}
