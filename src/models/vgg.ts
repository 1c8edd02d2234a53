/**
 * VGG19 as a frozen feature extractor for the perceptual (content) loss. The weights are the Keras
 * Applications ones, which expect "caffe" preprocessing: BGR order, 0..255, minus the ImageNet
 * channel means. They load from a TensorFlow.js layers model folder (model.json + shards) or from
 * the Keras HDF5 file itself (what `sr data download vgg19` installs), from which the conv stack is
 * rebuilt with the same layer names.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SrError } from '../core/errors';
import { loadLayersModelFromDir } from './files';
import { readKerasWeights, type KerasTensor, type KerasTensorInfo, type KerasWeights } from './keras-h5';

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

/**
 * `source` is a TensorFlow.js layers model folder, a Keras VGG19 weights file (.h5), or a folder
 * holding one (such as the one `sr data download vgg19` fills).
 */
export async function loadVggFeatures(source: string, layer: VggLayerName): Promise<tf.LayersModel> {
  return featureExtractor(await loadVgg(source), VGG_LAYERS[layer]);
}

/** The whole VGG model (up to block5_pool) from any of the sources loadVggFeatures accepts. */
export async function loadVgg(source: string): Promise<tf.LayersModel> {
  const found = locateVggWeights(source);
  return found.kind === 'tfjs' ? loadLayersModelFromDir(found.path) : loadVgg19FromKeras(found.path);
}

/** The Keras Applications file of the VGG19 conv layers (no classifier), as `sr data download vgg19` installs it. */
export const KERAS_VGG19_NOTOP_FILE = 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5';

/** Conv layers per block in VGG19 (configuration E of Simonyan & Zisserman). */
export const VGG19_BLOCKS: readonly number[] = [2, 2, 4, 4, 4];
/** Output channels per block in the published network. */
export const VGG19_BLOCK_WIDTHS: readonly number[] = [64, 128, 256, 512, 512];
/** block1_conv1 .. block5_conv4, in order: the layers a VGG19 weights file must hold. */
export const VGG19_CONV_LAYERS: readonly string[] = VGG19_BLOCKS.flatMap((convs, b) =>
  Array.from({ length: convs }, (_, i) => `block${b + 1}_conv${i + 1}`),
);

export interface Vgg19Structure {
  /** Output channels of each conv layer, in VGG19_CONV_LAYERS order. */
  widths: number[];
  parameters: number;
  /** True when the widths are the published ones (64 .. 512), not a narrower stand-in. */
  standardWidths: boolean;
}

/**
 * Checks that a Keras weights file holds the 16 conv layers of VGG19, each a 3x3 kernel (HWIO) and
 * a bias, every layer taking the previous one's channels (3 for the first). Widths come from the
 * file, so a narrow copy with the same structure passes (see standardWidths). Extra layers (a
 * classifier head) are ignored. Throws one SrError naming every missing layer or wrong shape.
 */
export function checkVgg19Weights(weights: KerasWeights<KerasTensorInfo>): Vgg19Structure {
  const missing = VGG19_CONV_LAYERS.filter((name) => !weights.layers.has(name));
  if (missing.length > 0) {
    throw new SrError(`${weights.file}: not VGG19 weights: missing layer${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  const problems: string[] = [];
  const widths: number[] = [];
  let parameters = 0;
  let channels = 3;
  for (const name of VGG19_CONV_LAYERS) {
    const tensors = weights.layers.get(name)!.weights;
    if (tensors.length !== 2) {
      problems.push(`${name} has ${tensors.length} weights where a kernel and a bias were expected`);
      break;
    }
    const [kernel, bias] = tensors;
    const out = kernel.shape[3];
    const kernelOk = kernel.shape.length === 4 && kernel.shape[0] === 3 && kernel.shape[1] === 3 && kernel.shape[2] === channels && out > 0;
    if (!kernelOk) {
      problems.push(`${name} kernel has shape [${kernel.shape.join(', ')}] where [3, 3, ${channels}, n] was expected`);
      break;
    }
    if (bias.shape.length !== 1 || bias.shape[0] !== out) {
      problems.push(`${name} bias has shape [${bias.shape.join(', ')}] where [${out}] was expected`);
    }
    widths.push(out);
    parameters += 9 * channels * out + out;
    channels = out;
  }
  if (problems.length > 0) throw new SrError(`${weights.file}: not VGG19 weights: ${problems.join('; ')}`);
  const standard = VGG19_BLOCKS.flatMap((convs, b) => Array<number>(convs).fill(VGG19_BLOCK_WIDTHS[b]));
  return { widths, parameters, standardWidths: widths.every((w, i) => w === standard[i]) };
}

/**
 * The VGG19 conv stack as the shared TensorFlow.js model has it: input [null, null, null, 3],
 * 3x3 'same' convolutions with ReLU named block<b>_conv<i>, and a 2x2 stride-2 max pool
 * block<b>_pool after each block. `widths` gives each conv layer's channels. Weights start at
 * zero (random initialisation of 20 M parameters is slow and they are about to be overwritten):
 * set them, as loadVgg19FromKeras does.
 */
export function buildVgg19(widths: readonly number[]): tf.LayersModel {
  if (widths.length !== VGG19_CONV_LAYERS.length) {
    throw new SrError(`VGG19 has ${VGG19_CONV_LAYERS.length} conv layers, got ${widths.length} widths`);
  }
  const input = tf.input({ shape: [null, null, 3], name: 'input_1' });
  let x: tf.SymbolicTensor = input;
  let layer = 0;
  VGG19_BLOCKS.forEach((convs, b) => {
    for (let i = 0; i < convs; i++) {
      const conv = tf.layers.conv2d({
        filters: widths[layer],
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: 'zeros',
        biasInitializer: 'zeros',
        name: VGG19_CONV_LAYERS[layer],
      });
      x = conv.apply(x) as tf.SymbolicTensor;
      layer++;
    }
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }).apply(x) as tf.SymbolicTensor;
  });
  return tf.model({ inputs: input, outputs: x, name: 'vgg19' });
}

/** VGG19 from a Keras weights file: structure checked, model built from its widths, weights set. */
export async function loadVgg19FromKeras(file: string): Promise<tf.LayersModel> {
  const weights = await readKerasWeights(file, { layers: VGG19_CONV_LAYERS });
  const { widths } = checkVgg19Weights(weights);
  const model = buildVgg19(widths);
  for (const name of VGG19_CONV_LAYERS) {
    const [kernel, bias] = weights.layers.get(name)!.weights as KerasTensor[];
    const tensors = [tf.tensor(kernel.values, kernel.shape, 'float32'), tf.tensor(bias.values, bias.shape, 'float32')];
    try {
      model.getLayer(name).setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
  return model;
}

export type VggWeightsSource = { kind: 'tfjs'; path: string } | { kind: 'keras'; path: string };

/**
 * What `source` holds: a folder with model.json is a TensorFlow.js model; a file is taken as Keras
 * HDF5 (and checked as such when read); another folder must hold the Keras VGG19 file or exactly
 * one .h5/.hdf5 file.
 */
export function locateVggWeights(source: string): VggWeightsSource {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch {
    throw new SrError(`${source}: no such file or folder (expected VGG19 weights: a TensorFlow.js model folder or a Keras .h5 file)`);
  }
  if (stat.isFile()) return { kind: 'keras', path: source };
  if (fs.existsSync(path.join(source, 'model.json'))) return { kind: 'tfjs', path: source };
  const h5Files = fs
    .readdirSync(source)
    .filter((name) => /\.(h5|hdf5)$/i.test(name))
    .sort();
  if (h5Files.includes(KERAS_VGG19_NOTOP_FILE)) return { kind: 'keras', path: path.join(source, KERAS_VGG19_NOTOP_FILE) };
  if (h5Files.length === 1) return { kind: 'keras', path: path.join(source, h5Files[0]) };
  if (h5Files.length === 0) {
    throw new SrError(`${source}: no model.json and no .h5 file (expected a TensorFlow.js model folder or Keras VGG19 weights)`);
  }
  throw new SrError(`${source}: several .h5 files (${h5Files.join(', ')}); give the one to use`);
}
