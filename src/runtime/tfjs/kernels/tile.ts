/**
 * Tile as a broadcasting multiply by ones.
 *
 * The wasm backend's Tile is slow for a per-channel vector tiled to an activation's shape, which tfjs's
 * batch-norm gradient does once per BN layer per step (and tf.broadcastTo / tf.where with broadcasting
 * go through Tile too). Along an axis, tiling a by r gives out[k*a + j] = x[j], i.e. the broadcast of x
 * shaped [1, a] against ones shaped [r, 1]; all axes at once is one broadcast multiply, which XNNPACK
 * runs at memory speed (measurements: docs/performance.md, "Kernel and engine measurements").
 * Multiplying by one is exact, including for -0, NaN and infinities.
 */
import * as tf from '@tensorflow/tfjs';
import { replacingKernel } from './registry';
import { inputTensor } from './kernel_util';

const NAME = tf.Tile;

/** XNNPACK's broadcasting binary ops take at most 6 dimensions (XNN_MAX_TENSOR_DIMS); beyond that wasm gives wrong results. */
export const MAX_BROADCAST_RANK = 6;

/** The broadcast implementing a tile: x reshaped to xShape times ones of onesShape, then reshaped to the output. */
export interface TilePlan {
  xShape: number[];
  onesShape: number[];
}

interface PlanEntry {
  size: number;
  repeat: boolean;
}

/**
 * Interleaves [reps[i], shape[i]] over the axes (a repetition is the outer index along its axis), drops
 * size-1 entries and merges neighbours of the same kind, giving the lowest-rank equivalent broadcast:
 * tiling [1,1,1,C] by [N,H,W,1] becomes [1, C] x [N*H*W, 1].
 */
export function tilePlan(shape: readonly number[], reps: readonly number[]): TilePlan {
  const entries: PlanEntry[] = [];
  const push = (size: number, repeat: boolean): void => {
    if (size === 1) return;
    const last = entries[entries.length - 1];
    if (last && last.repeat === repeat) last.size *= size;
    else entries.push({ size, repeat });
  };
  shape.forEach((size, axis) => {
    push(reps[axis], true);
    push(size, false);
  });
  return {
    xShape: entries.map((e) => (e.repeat ? 1 : e.size)),
    onesShape: entries.map((e) => (e.repeat ? e.size : 1)),
  };
}

/** Splits the repeated axes into two groups, each tiled separately; tiling twice multiplies the repetitions. */
export function splitReps(reps: readonly number[]): [number[], number[]] {
  const repeated = reps.map((r, axis) => (r === 1 ? -1 : axis)).filter((axis) => axis >= 0);
  const firstGroup = new Set(repeated.slice(0, Math.ceil(repeated.length / 2)));
  return [reps.map((r, axis) => (firstGroup.has(axis) ? r : 1)), reps.map((r, axis) => (firstGroup.has(axis) ? 1 : r))];
}

export function tileByBroadcast(x: tf.Tensor, reps: readonly number[]): tf.Tensor {
  if (x.dtype === 'bool') return tf.cast(tileByBroadcast(tf.cast(x, 'int32'), reps), 'bool');
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`${NAME}: unsupported dtype ${x.dtype}`);
  const outShape = x.shape.map((size, axis) => size * reps[axis]);
  const plan = tilePlan(x.shape, reps);
  if (!plan.onesShape.some((size) => size !== 1)) return tf.reshape(x, outShape);
  if (plan.xShape.length > MAX_BROADCAST_RANK) {
    const [first, second] = splitReps(reps);
    return tileByBroadcast(tileByBroadcast(x, first), second);
  }
  const tiled = tf.mul(tf.reshape(x, plan.xShape), tf.ones(plan.onesShape, x.dtype));
  return tf.reshape(tiled, outShape);
}

function tile({ inputs, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { reps } = attrs as unknown as tf.TileAttrs;
  const x = inputTensor(inputs, 'x', NAME);
  return tf.tidy(() => tileByBroadcast(x, reps));
}

export const tileKernel = replacingKernel(NAME, tile as tf.KernelFunc);
