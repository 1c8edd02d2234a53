/**
 * The fixed pattern an upscaler lays over its output every `period` pixels, such as a sub-pixel
 * convolution's layout showing through (SRGAN's "grid"). The output minus the ground truth is
 * averaged over the pixels of each phase (row mod period, column mod period): content alone leaves
 * these means within a fraction of a grey level of each other, while a fixed grid moves each phase
 * by its own offset, on every image alike.
 */
import * as tf from '@tensorflow/tfjs';

export interface PhaseGrid {
  /** The largest distance of one phase's mean difference from the mean over all phases. */
  amplitude: number;
  /** Each phase's mean difference less the mean over all phases, row-major (period x period). */
  phases: number[];
}

/** `sr` and `hr` are [H, W, 1] (e.g. the Y channel, 0..255), of one size; H and W are cut to multiples of `period`. */
export function phaseGrid(sr: tf.Tensor3D, hr: tf.Tensor3D, period: number): PhaseGrid {
  if (sr.shape.join() !== hr.shape.join()) throw new Error(`phaseGrid: sizes differ (${sr.shape} and ${hr.shape})`);
  const [h, w] = sr.shape;
  const rows = Math.floor(h / period);
  const cols = Math.floor(w / period);
  const phases = tf.tidy(() => {
    const diff = tf.sub(sr, hr).slice([0, 0, 0], [rows * period, cols * period, 1]);
    const means = diff.reshape([rows, period, cols, period]).mean([0, 2]);
    return means.sub(means.mean()).dataSync() as Float32Array;
  });
  return { amplitude: Math.max(...Array.from(phases, Math.abs)), phases: Array.from(phases) };
}
