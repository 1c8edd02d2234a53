/**
 * A trained network as an Upscaler. The model's description decides the plumbing: Y-channel
 * models (SRCNN) get the BT.601 Y of the bicubic-upscaled image and Cb/Cr stay bicubic, as in the
 * paper; RGB models (SRResNet) get the LR image itself; gray images are replicated into RGB and
 * averaged back.
 */
import * as tf from '@tensorflow/tfjs';
import { rgbToYcbcr, ycbcrToRgb } from '../image/color';
import { imresize } from '../image/resize';
import type { NetworkPlumbing } from '../models';
import { FoldedNetwork, type Network } from '../engines/fold';
import type { AsyncNetwork, EngineInfo, EngineNetwork } from '../engines/network';
import type { Upscaler } from './upscaler';

/** What the colour pipeline needs of a network, with the name it is shown by ('srcnn-x3', a path). */
export type LabelledNetwork = NetworkPlumbing & { name: string };

/**
 * Feature maps of the widest size alive at once while a network runs (a layer's input and output):
 * ONNX Runtime peaked at about 1.6 of them for SRGAN on a 224x224 tile, tfjs holds two.
 */
const LIVE_FEATURE_MAPS = 2;

/** Working memory one LR pixel costs when run at once, for automatic tiling (undefined: unknown). */
export function workBytesPerPixel(d: LabelledNetwork): number | undefined {
  return d.featureChannels === undefined ? undefined : LIVE_FEATURE_MAPS * 4 * d.featureChannels * d.scale * d.scale;
}

/** Runs the network on one [H, W, C] image, padding so the output covers the whole input. */
export function runNetwork(model: Network, x: tf.Tensor3D, shrink: number): tf.Tensor3D {
  return tf.tidy(() => (model.predict(networkBatch(x, shrink)) as tf.Tensor4D).squeeze([0]) as tf.Tensor3D);
}

/** One image as the network's batch of one, mirror-padded by what 'valid' convolutions lose. */
function networkBatch(x: tf.Tensor3D, shrink: number): tf.Tensor4D {
  return tf.tidy(() => {
    const batch = x.expandDims(0) as tf.Tensor4D;
    return shrink > 0
      ? tf.mirrorPad(
          batch,
          [
            [0, 0],
            [shrink, shrink],
            [shrink, shrink],
            [0, 0],
          ],
          'symmetric',
        )
      : batch;
  });
}

/** What goes into the network for an image, and what is kept aside to rebuild the result. */
interface NetworkInput {
  batch: tf.Tensor4D;
  /** Cb/Cr at the output size, for Y-channel models on colour images. */
  chroma?: tf.Tensor3D;
}

function networkInput(d: LabelledNetwork, lr: tf.Tensor3D): NetworkInput {
  return tf.tidy(() => {
    const channels = lr.shape[2];
    const upsampled = () => imresize(lr, d.scale);
    if (d.inputSpace === 'y') {
      const base = d.inputIsUpsampled ? upsampled() : lr;
      if (channels === 1) return { batch: networkBatch(base, d.shrink) };
      const ycc = rgbToYcbcr(base) as tf.Tensor3D;
      const chroma = (d.inputIsUpsampled ? ycc : rgbToYcbcr(upsampled())).slice([0, 0, 1], [-1, -1, 2]) as tf.Tensor3D;
      return { batch: networkBatch(ycc.slice([0, 0, 0], [-1, -1, 1]), d.shrink), chroma };
    }
    const rgbIn = (channels === 1 ? tf.tile(lr, [1, 1, 3]) : lr) as tf.Tensor3D;
    return { batch: networkBatch(d.inputIsUpsampled ? imresize(rgbIn, d.scale) : rgbIn, d.shrink) };
  }) as unknown as NetworkInput;
}

function networkResult(d: LabelledNetwork, out: tf.Tensor4D, input: NetworkInput, channels: number): tf.Tensor3D {
  return tf.tidy(() => {
    const image = out.squeeze([0]) as tf.Tensor3D;
    if (d.inputSpace === 'y') return (input.chroma ? ycbcrToRgb(tf.concat([image, input.chroma], 2)) : image) as tf.Tensor3D;
    return (channels === 1 ? image.mean(2, true) : image) as tf.Tensor3D;
  });
}

/** The whole colour pipeline around a network; exported for training-time validation. */
export function upscaleWithNetwork(model: Network, d: LabelledNetwork, lr: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const input = networkInput(d, lr);
    return networkResult(d, model.predict(input.batch) as tf.Tensor4D, input, lr.shape[2]);
  });
}

/** upscaleWithNetwork for an AsyncNetwork: the same colour pipeline around it. */
export async function upscaleWithAsyncNetwork(run: AsyncNetwork, d: LabelledNetwork, lr: tf.Tensor3D): Promise<tf.Tensor3D> {
  const input = networkInput(d, lr);
  let out: tf.Tensor4D | undefined;
  try {
    out = await run(input.batch);
    return networkResult(d, out, input, lr.shape[2]);
  } finally {
    tf.dispose([input.batch, ...(input.chroma ? [input.chroma] : []), ...(out ? [out] : [])]);
  }
}

/** An Upscaler over a trained model, run with its batch norms folded (the model is owned). */
export function modelUpscaler(model: tf.LayersModel, d: LabelledNetwork, engine?: EngineInfo): Upscaler {
  const folded = FoldedNetwork.from(model);
  return {
    name: d.name,
    scale: d.scale,
    engine,
    bytesPerPixel: workBytesPerPixel(d),
    async upscale(lr: tf.Tensor3D) {
      return upscaleWithNetwork(folded, d, lr);
    },
    dispose() {
      folded.dispose();
      model.dispose();
    },
  };
}

/** An Upscaler over a network on an engine (ONNX Runtime): the same colour pipeline around it. */
export function engineUpscaler(network: EngineNetwork, d: LabelledNetwork): Upscaler {
  return {
    name: d.name,
    scale: d.scale,
    engine: network.engine,
    bytesPerPixel: workBytesPerPixel(d),
    upscale: (lr) => upscaleWithAsyncNetwork(network.run, d, lr),
    dispose: () => network.dispose(),
  };
}
