/** The onnx training engine: a network's whole training step as one ONNX Runtime session. */
export { OnnxTrainer, float32Power, type OnnxTrainerOptions, type OptimizerWeights, type TrainingBatch } from './trainer';
export { buildPixelStep, type StepGraph, type PixelStepSpec } from './step-graph';
export { layersWithoutRule, ruleFor } from './rules';
export type { OptimizerSpec } from './optimizers';
export type { PixelLossKind } from './losses';
