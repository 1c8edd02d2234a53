/**
 * Training pairs from a folder of HR images, decoded and degraded once and kept in memory as plain
 * typed arrays (outside the backend, whose wasm heap is small): modcrop, MATLAB-bicubic LR rounded
 * to 8 bits, and for models that take an upsampled input (SRCNN) the bicubic upscale of that LR.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SrError, UsageError } from '../core/errors';
import { luma } from '../image/color';
import { readImage } from '../image/io';
import { imresize, modcrop } from '../image/resize';
import { quantizeUnit, splitImage } from '../image/tensor';
import type { InputSpace } from '../models/registry';
import { listImages } from './datasets';

export interface Plane {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

export interface TrainingPair {
  name: string;
  /** What the network sees: the LR image, or its bicubic upscale. */
  input: Plane;
  /** The HR ground truth. */
  target: Plane;
}

export interface TrainingSetOptions {
  scale: number;
  space: InputSpace;
  inputIsUpsampled: boolean;
  /** Images whose HR side is shorter than this are skipped (too small for one patch). */
  minHrSize: number;
  /** Files (resolved paths) never to train on: the validation images when they share a folder. */
  exclude?: ReadonlySet<string>;
  onSkip?: (file: string, reason: string) => void;
  onLoad?: (done: number, total: number) => void;
}

function toSpace(color: tf.Tensor3D, space: InputSpace): tf.Tensor3D {
  return tf.tidy(() => {
    const channels = color.shape[2];
    if (space === 'y') return luma(color) as tf.Tensor3D;
    return (channels === 1 ? tf.tile(color, [1, 1, 3]) : color.clone()) as tf.Tensor3D;
  });
}

function plane(t: tf.Tensor3D): Plane {
  const [height, width, channels] = t.shape;
  return { data: t.dataSync() as Float32Array, height, width, channels };
}

/** One HR image to a training pair; tensors live only inside this call. */
export function makePair(
  name: string,
  color: tf.Tensor3D,
  options: Pick<TrainingSetOptions, 'scale' | 'space' | 'inputIsUpsampled'>,
): TrainingPair {
  const [input, target] = tf.tidy(() => {
    // The colour conversion comes after degradation, as at evaluation time (LR is an 8-bit RGB image).
    const hr = modcrop(color, options.scale);
    const lr = quantizeUnit(imresize(hr, 1 / options.scale), 8) as tf.Tensor3D;
    const up = options.inputIsUpsampled ? imresize(lr, options.scale, { outHeight: hr.shape[0], outWidth: hr.shape[1] }) : lr;
    return [toSpace(up, options.space), toSpace(hr, options.space)];
  });
  try {
    return { name, input: plane(input), target: plane(target) };
  } finally {
    tf.dispose([input, target]);
  }
}

export async function loadTrainingSet(dirs: string | string[], options: TrainingSetOptions): Promise<TrainingPair[]> {
  const folders = Array.isArray(dirs) ? dirs : [dirs];
  const dir = folders.join(', ');
  const files = folders.flatMap((d) => listImages(d)).filter((f) => !options.exclude?.has(path.resolve(f)));
  if (files.length === 0) throw new UsageError(`${dir}: no images to train on`);
  const pairs: TrainingPair[] = [];
  for (const [i, file] of files.entries()) {
    try {
      const image = await readImage(file);
      if (Math.min(image.width, image.height) < options.minHrSize) {
        options.onSkip?.(file, `smaller than one ${options.minHrSize}x${options.minHrSize} patch`);
        continue;
      }
      const { color, alpha } = splitImage(image);
      alpha?.dispose();
      pairs.push(makePair(file, color, options));
      color.dispose();
    } catch (err) {
      if (!(err instanceof SrError)) throw err;
      options.onSkip?.(file, err.message);
    } finally {
      options.onLoad?.(i + 1, files.length);
    }
  }
  if (pairs.length === 0) throw new SrError(`${dir}: none of the ${files.length} images can be used for training`);
  return pairs;
}
