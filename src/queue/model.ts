/**
 * The model a queued run names, checked and pinned on the enqueuing machine without loading it:
 * a mistyped name fails before any job exists, and every job records the same scale and path.
 */
import * as path from 'path';
import { checkScale, DEFAULT_SCALE, describeCheckpoint, findCheckpoint, isInterpolation, SHIPPED_MODELS } from '../infer';
import { readCheckpointMeta } from '../checkpoint';

export interface ModelIdentity {
  /** What a local run prints as the model (its Upscaler's name). */
  name: string;
  scale: number;
  /** What workers load: a kernel or shipped name, or an absolute checkpoint path. */
  ref: string;
}

export function identifyModel(model: string, scale?: number): ModelIdentity {
  if (scale !== undefined) checkScale(scale);
  if (isInterpolation(model)) return { name: model, scale: scale ?? DEFAULT_SCALE, ref: model };
  const { dir, label } = findCheckpoint(model, scale);
  const meta = readCheckpointMeta(dir);
  describeCheckpoint(dir, meta, label, scale);
  return { name: label, scale: meta.scale, ref: SHIPPED_MODELS.includes(model) ? model : path.resolve(model) };
}
