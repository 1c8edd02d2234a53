/**
 * VGG19 as a frozen feature extractor for the perceptual (content) loss. The weights are the Keras
 * Applications ones, which expect "caffe" preprocessing: BGR order, 0..255, minus the ImageNet
 * channel means.
 */
import * as tf from '@tensorflow/tfjs';
import { SrError } from '../errors';
import { loadLayersModelFromDir } from './files';

/** ImageNet means in B, G, R order, on the 0..255 scale. */
export const IMAGENET_BGR_MEANS = [103.939, 116.779, 123.68];

/** The content-loss layers of the SRGAN paper: VGG54 and VGG22 (outputs are after the ReLU). */
export const VGG_LAYERS = { vgg54: 'block5_conv4', vgg22: 'block2_conv2' } as const;
export type VggLayerName = keyof typeof VGG_LAYERS;

/** RGB in [0, 1], [N, H, W, 3], to VGG's caffe-style input. */
export function vggPreprocess(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.reverse(rgb, 3).mul(255).sub(tf.tensor1d(IMAGENET_BGR_MEANS)) as tf.Tensor4D);
}

/** A model from VGG's input to one of its layers, with every weight frozen. */
export function featureExtractor(vgg: tf.LayersModel, layerName: string): tf.LayersModel {
  let layer: tf.layers.Layer;
  try {
    layer = vgg.getLayer(layerName);
  } catch {
    throw new SrError(`the VGG model has no layer '${layerName}'`);
  }
  const extractor = tf.model({ inputs: vgg.inputs, outputs: layer.output as tf.SymbolicTensor, name: `vgg_${layerName}` });
  extractor.trainable = false;
  for (const l of extractor.layers) l.trainable = false;
  return extractor;
}

export async function loadVggFeatures(dir: string, layer: VggLayerName): Promise<tf.LayersModel> {
  const vgg = await loadLayersModelFromDir(dir);
  return featureExtractor(vgg, VGG_LAYERS[layer]);
}
