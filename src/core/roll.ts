/**
 * Cyclic shifts ("rolls") of an image's rows and columns as index lists, and the shift a training
 * step uses. SRGAN's losses can look at SR and HR through such a shift (`gan.roll_views`): each
 * step then lines the generator's sub-pixel phase (its output repeats its upsamplers' layout every
 * `scale` pixels) up with another phase of VGG's and the discriminator's strided grids, so a
 * fixed pattern of that period no longer pays off on average.
 */
import { Rng } from './rng';

/** Indices that roll an axis of `size` by `shift`: rolled[i] = x[(i + shift) mod size]. */
export function rollIndices(size: number, shift: number): number[] {
  const s = ((shift % size) + size) % size;
  return Array.from({ length: size }, (_, i) => (i + s) % size);
}

/**
 * The (rows, columns) shift of training step `step`, each in [0, period): a hash of the step, so
 * both engines pick the same one and a resumed run (which restores its step count) continues the
 * sequence exactly.
 */
export function stepShift(step: number, period: number): [number, number] {
  if (period <= 1) return [0, 0];
  const rng = new Rng(step);
  return [rng.nextUint32() % period, rng.nextUint32() % period];
}
