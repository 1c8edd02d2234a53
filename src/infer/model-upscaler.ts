/**
 * A trained network as an Upscaler. The model's description decides the plumbing: Y-channel
 * models (SRCNN) get the BT.601 Y of the bicubic-upscaled image and Cb/Cr stay bicubic, as in the
 * paper; RGB models (SRResNet) get the LR image itself; gray images are replicated into RGB and
 * averaged back.
 */
import * as tf from '@tensorflow/tfjs';
import { rgbToYcbcr, ycbcrToRgb } from '../image/color';
import { imresize } from '../image/resize';
import type { InputSpace } from '../models/registry';
import { FoldedNetwork, type Network } from './fold';
import type { Upscaler } from './upscaler';

export interface ModelDescription {
  name: string;
  scale: number;
  inputSpace: InputSpace;
  inputIsUpsampled: boolean;
  /** Pixels lost per side by 'valid' convolutions; the input is mirror-padded by this much. */
  shrink: number;
}

/** Runs the network on one [H, W, C] image, padding so the output covers the whole input. */
export function runNetwork(model: Network, x: tf.Tensor3D, shrink: number): tf.Tensor3D {
  return tf.tidy(() => {
    let batch = x.expandDims(0) as tf.Tensor4D;
    if (shrink > 0) batch = tf.mirrorPad(batch, [[0, 0], [shrink, shrink], [shrink, shrink], [0, 0]], 'symmetric');
    const out = model.predict(batch) as tf.Tensor4D;
    return out.squeeze([0]) as tf.Tensor3D;
  });
}

/** The whole colour pipeline around a network; exported for training-time validation. */
export function upscaleWithNetwork(model: Network, d: ModelDescription, lr: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const channels = lr.shape[2];
    const upsampled = () => imresize(lr, d.scale);
    if (d.inputSpace === 'y') {
      const base = d.inputIsUpsampled ? upsampled() : lr;
      if (channels === 1) return runNetwork(model, base, d.shrink);
      const ycc = rgbToYcbcr(base) as tf.Tensor3D;
      const y = runNetwork(model, ycc.slice([0, 0, 0], [-1, -1, 1]), d.shrink);
      const chroma = (d.inputIsUpsampled ? ycc : rgbToYcbcr(upsampled())).slice([0, 0, 1], [-1, -1, 2]);
      return ycbcrToRgb(tf.concat([y, chroma], 2)) as tf.Tensor3D;
    }
    const rgbIn = channels === 1 ? tf.tile(lr, [1, 1, 3]) : lr;
    const out = runNetwork(model, d.inputIsUpsampled ? imresize(rgbIn as tf.Tensor3D, d.scale) : (rgbIn as tf.Tensor3D), d.shrink);
    return (channels === 1 ? out.mean(2, true) : out) as tf.Tensor3D;
  });
}

/** An Upscaler over a trained model, run with its batch norms folded (the model is owned). */
export function modelUpscaler(model: tf.LayersModel, d: ModelDescription): Upscaler {
  const folded = FoldedNetwork.from(model);
  return {
    name: d.name,
    scale: d.scale,
    async upscale(lr: tf.Tensor3D) {
      return upscaleWithNetwork(folded, d, lr);
    },
    dispose() {
      folded.dispose();
      model.dispose();
    },
  };
}
