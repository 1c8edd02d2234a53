/** The layer kinds a training graph can be built from, by tfjs class name. */
import type * as tf from '@tensorflow/tfjs';
import { SrError } from '../../../../core/errors';
import { activationRule, unknownActivation } from './activation';
import { batchNormRule } from './batch-norm';
import { conv2dRule } from './conv2d';
import { conv2dTransposeRule } from './conv2d-transpose';
import { denseRule } from './dense';
import { addRule, scaleShiftRule } from './elementwise';
import { maxPoolRule } from './pooling';
import { preluRule } from './prelu';
import { depthToSpaceRule, flattenRule, upsampleNearestRule } from './reshaping';
import { resizeBilinearRule } from './resize-bilinear';
import type { LayerRule } from './rule';

export type { LayerRule, ForwardArgs, ForwardResult, BackwardArgs, BackwardResult } from './rule';

const RULES: readonly LayerRule[] = [
  conv2dRule,
  conv2dTransposeRule,
  batchNormRule,
  preluRule,
  activationRule,
  addRule,
  scaleShiftRule,
  depthToSpaceRule,
  upsampleNearestRule,
  resizeBilinearRule,
  flattenRule,
  denseRule,
  maxPoolRule,
];

const BY_CLASS = new Map(RULES.flatMap((rule) => rule.classNames.map((name) => [name, rule] as const)));

/** Why the engine cannot train `layer`: no rule for its kind, or a setting its rule does not write. */
function reasonWithout(layer: tf.layers.Layer): string | undefined {
  const rule = BY_CLASS.get(layer.getClassName());
  if (!rule) return layer.getClassName();
  return unknownActivation((layer.getConfig() as { activation?: string }).activation) ?? rule.unsupported?.(layer);
}

export function ruleFor(layer: tf.layers.Layer): LayerRule {
  const reason = reasonWithout(layer);
  if (reason) throw new SrError(`the onnx training engine has no rule for layer '${layer.name}' (${reason})`);
  return BY_CLASS.get(layer.getClassName())!;
}

/** A model's layers the engine cannot train, as `'name' (reason)` (empty when the model can train on ONNX Runtime). */
export function layersWithoutRule(model: tf.LayersModel): string[] {
  return model.layers
    .filter((l) => l.getClassName() !== 'InputLayer')
    .flatMap((l) => {
      const reason = reasonWithout(l);
      return reason ? [`'${l.name}' (${reason})`] : [];
    });
}
