/**
 * Random aligned patches from training pairs, with the 8 flips/rotations, packed into batches.
 * Pure JS over typed arrays: building a batch takes well under a millisecond, so the backend never
 * waits for data, and the only randomness is a seeded Rng whose state a checkpoint can keep.
 */
import type { Rng } from '../core/rng';
import type { Plane, TrainingPair } from './training-set';

export interface PatchOptions {
  /** Side of the input patch (in input pixels). */
  inputSize: number;
  /** Input pixels per target pixel step: 1 for upsampled inputs, else the scale. */
  scale: number;
  batchSize: number;
  augment: boolean;
}

export interface Batch {
  /** [batch, inputSize, inputSize, c], row-major. */
  input: Float32Array;
  /** [batch, targetSize, targetSize, c]. */
  target: Float32Array;
  inputShape: [number, number, number, number];
  targetShape: [number, number, number, number];
}

/**
 * Where the pixel (y, x) of a transformed n x n patch comes from in the untransformed one, for the
 * 8 elements of the square's symmetry group: bit 0 flips columns, bit 1 flips rows, bit 2 transposes.
 */
export function dihedralSource(transform: number, y: number, x: number, n: number): [number, number] {
  let [sy, sx] = transform & 4 ? [x, y] : [y, x];
  if (transform & 1) sx = n - 1 - sx;
  if (transform & 2) sy = n - 1 - sy;
  return [sy, sx];
}

/** Copies an n x n window at (top, left) of a plane into `out` at `offset`, transformed. */
export function copyPatch(src: Plane, top: number, left: number, n: number, transform: number, out: Float32Array, offset: number): void {
  const c = src.channels;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const [sy, sx] = dihedralSource(transform, y, x, n);
      const from = ((top + sy) * src.width + (left + sx)) * c;
      const to = offset + (y * n + x) * c;
      for (let k = 0; k < c; k++) out[to + k] = src.data[from + k];
    }
  }
}

export class PatchSampler {
  private readonly cumulative: number[];
  readonly targetSize: number;

  constructor(
    private readonly pairs: TrainingPair[],
    private readonly options: PatchOptions,
  ) {
    if (pairs.length === 0) throw new Error('no training pairs');
    this.targetSize = options.inputSize * options.scale;
    // Images are drawn in proportion to how many patch positions they hold, so every position of
    // the training set is equally likely.
    let total = 0;
    this.cumulative = pairs.map((p) => (total += this.positions(p.input)));
    if (total === 0) throw new Error(`no training image is large enough for ${options.inputSize}x${options.inputSize} patches`);
  }

  private positions(p: Plane): number {
    const n = this.options.inputSize;
    return Math.max(0, p.height - n + 1) * Math.max(0, p.width - n + 1);
  }

  private pickPair(rng: Rng): TrainingPair {
    const r = rng.next() * this.cumulative[this.cumulative.length - 1];
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return this.pairs[lo];
  }

  next(rng: Rng): Batch {
    const { inputSize: n, scale, batchSize } = this.options;
    const m = this.targetSize;
    const ci = this.pairs[0].input.channels;
    const ct = this.pairs[0].target.channels;
    const input = new Float32Array(batchSize * n * n * ci);
    const target = new Float32Array(batchSize * m * m * ct);
    for (let b = 0; b < batchSize; b++) {
      const pair = this.pickPair(rng);
      const top = rng.int(pair.input.height - n + 1);
      const left = rng.int(pair.input.width - n + 1);
      const transform = this.options.augment ? rng.int(8) : 0;
      copyPatch(pair.input, top, left, n, transform, input, b * n * n * ci);
      copyPatch(pair.target, top * scale, left * scale, m, transform, target, b * m * m * ct);
    }
    return { input, target, inputShape: [batchSize, n, n, ci], targetShape: [batchSize, m, m, ct] };
  }
}
