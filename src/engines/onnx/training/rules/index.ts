/** The layer kinds a training graph can be built from, by tfjs class name. */
import type * as tf from '@tensorflow/tfjs';
import { SrError } from '../../../../core/errors';
import { activationRule } from './activation';
import { batchNormRule } from './batch-norm';
import { conv2dRule } from './conv2d';
import { conv2dTransposeRule } from './conv2d-transpose';
import { denseRule } from './dense';
import { addRule, scaleShiftRule } from './elementwise';
import { maxPoolRule } from './pooling';
import { preluRule } from './prelu';
import { depthToSpaceRule, flattenRule } from './reshaping';
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
  resizeBilinearRule,
  flattenRule,
  denseRule,
  maxPoolRule,
];

const BY_CLASS = new Map(RULES.flatMap((rule) => rule.classNames.map((name) => [name, rule] as const)));

export function ruleFor(layer: tf.layers.Layer): LayerRule {
  const rule = BY_CLASS.get(layer.getClassName());
  if (!rule) throw new SrError(`the onnx training engine has no rule for layer '${layer.name}' (${layer.getClassName()})`);
  return rule;
}

/** Class names of a model's layers that have no rule (empty when the model can train on ONNX Runtime). */
export function layersWithoutRule(model: tf.LayersModel): string[] {
  return model.layers
    .filter((l) => l.getClassName() !== 'InputLayer' && !BY_CLASS.has(l.getClassName()))
    .map((l) => `'${l.name}' (${l.getClassName()})`);
}
