/**
 * NIQE at training-time validation, as `sr eval --metrics niqe` computes it: on the Y channel of
 * the upscaled image, with the same `scale` pixels of border PSNR crops. NIQE needs whole 96x96
 * blocks (at least two), so the validation images too small for it are known before training, and
 * an output on which it is undefined (a flat one) is reported, not fatal.
 */
import type * as tf from '@tensorflow/tfjs';
import { SrError } from '../core/errors';
import { niqeFits, niqeOfImage } from '../metrics';
import { NIQE_BLOCK_SIZE, NIQE_MIN_BLOCKS } from '../metrics/niqe';

/** Whether an HR validation image of width x height is big enough for NIQE of its output at x`scale` (modcrop, then the border). */
export function niqeScorable(width: number, height: number, scale: number): boolean {
  return niqeFits(width - (width % scale), height - (height % scale), scale);
}

/** The smallest such image, in words: `2 whole 96x96 blocks after a 4-pixel border, e.g. 200x104`. */
export function niqeMinimum(scale: number): string {
  const side = (blocks: number) => blocks * NIQE_BLOCK_SIZE + 2 * scale;
  return `${NIQE_MIN_BLOCKS} whole ${NIQE_BLOCK_SIZE}x${NIQE_BLOCK_SIZE} blocks after a ${scale}-pixel border, e.g. ${side(NIQE_MIN_BLOCKS)}x${side(1)}`;
}

/** NIQE of one validation output, or the reason it has none (NIQE is undefined on a flat image). */
export function validationNiqe(sr: tf.Tensor3D, scale: number): { niqe?: number; reason?: string } {
  try {
    return { niqe: niqeOfImage(sr, { border: scale }) };
  } catch (err) {
    if (!(err instanceof SrError)) throw err;
    return { reason: err.message };
  }
}
