/**
 * Which validation a run keeps as `best/`. By PSNR (the default): the highest. By NIQE: the lowest
 * NIQE among validations whose PSNR reaches a floor, because NIQE judges the output alone and
 * rewards noise as readily as texture; the floor keeps the chosen weights faithful to the input.
 *
 * Until some validation qualifies (PSNR at or above the floor, NIQE measured), the highest PSNR is
 * kept, so a run whose floor is never reached still has a best/ (today's choice).
 */
import type { BestBy, TrainingConfig } from '../config/schema';

/** One validation's means over the validation images (NIQE when measured), at an iteration. */
export interface ValidationScore {
  psnr: number;
  ssim: number;
  /** Mean NIQE; absent when not asked for, or undefined on some image (a flat output). */
  niqe?: number;
  iteration: number;
}

export interface BestRule {
  by: BestBy;
  /** by niqe: the PSNR (dB) a validation must reach to compete on NIQE. */
  minPsnr?: number;
}

export function bestRule(train: Pick<TrainingConfig['train'], 'best_by' | 'best_min_psnr'>): BestRule {
  return train.best_by === 'niqe' ? { by: 'niqe', minPsnr: train.best_min_psnr } : { by: 'psnr' };
}

/** Competes on NIQE: measured, and PSNR at or above the floor. */
function qualifies(score: Pick<ValidationScore, 'psnr' | 'niqe'>, rule: BestRule): boolean {
  return Number.isFinite(score.niqe) && score.psnr >= (rule.minPsnr ?? -Infinity);
}

/**
 * Whether `candidate` replaces `best` (undefined: none yet, so it does). A tie keeps the earlier.
 * A `best` without NIQE (a run validated before NIQE was asked for) does not qualify.
 */
export function isNewBest(candidate: ValidationScore, best: ValidationScore | undefined, rule: BestRule): boolean {
  if (!best) return true;
  if (rule.by === 'psnr') return candidate.psnr > best.psnr;
  const [c, b] = [qualifies(candidate, rule), qualifies(best, rule)];
  if (c !== b) return c;
  return c ? candidate.niqe! < best.niqe! : candidate.psnr > best.psnr;
}

/** A validation's NIQE: the mean over the images it scored, or undefined when any image had none. */
export function meanNiqe(values: readonly (number | undefined)[]): number | undefined {
  if (values.length === 0 || values.some((v) => v === undefined || !Number.isFinite(v))) return undefined;
  return (values as number[]).reduce((sum, v) => sum + v, 0) / values.length;
}
