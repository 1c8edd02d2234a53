/**
 * What an engine hands out: a network that runs somewhere (tfjs, ONNX Runtime), NHWC batch in and
 * NHWC batch out, with a line saying where. The colour pipeline around it (Y channel, gray, padding)
 * is infer's, the same for every engine.
 */
import type * as tf from '@tensorflow/tfjs';

/** `--engine`: where a network runs. */
export const ENGINE_CHOICES = ['auto', 'tfjs', 'onnx'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/** Which engine runs a network, and why when it is not the one asked for. */
export interface EngineInfo {
  requested: EngineChoice;
  active: 'tfjs' | 'onnx';
  /** One line for people: 'onnx (onnxruntime-node 1.30.0, CPU, 2 threads)', 'tfjs (wasm)'. */
  description: string;
  /** Fallbacks and the like, one line each. */
  notes: string[];
  /** ONNX engine: where the export is cached (null: in memory only) and whether it was built now. */
  export?: { path: string | null; rebuilt: boolean };
}

/** A network run elsewhere (ONNX Runtime): NHWC batch in, NHWC batch out, asynchronously. */
export type AsyncNetwork = (batch: tf.Tensor4D) => Promise<tf.Tensor4D>;

/** A network on an engine, owned by whoever asked for it. */
export interface EngineNetwork {
  run: AsyncNetwork;
  engine: EngineInfo;
  dispose(): void;
}
