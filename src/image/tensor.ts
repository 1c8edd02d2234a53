/**
 * Between `Image` (integers, interleaved) and float tensors in [0, 1] shaped [H, W, C].
 * Colour and alpha are split so the models only ever see 1 or 3 channels.
 */
import * as tf from '@tensorflow/tfjs';
import type { Channels, Image } from './io';

export interface ImageTensors {
  /** [H, W, 1] gray or [H, W, 3] RGB, float32 in [0, 1]. */
  color: tf.Tensor3D;
  /** [H, W, 1] in [0, 1], when the image has an alpha channel. */
  alpha?: tf.Tensor3D;
  bitDepth: 8 | 16;
}

export function maxValue(bitDepth: 8 | 16): number {
  return bitDepth === 16 ? 65535 : 255;
}

/** The whole image (alpha included) as one float tensor [H, W, channels] in [0, 1]. */
export function imageToTensor(image: Image): tf.Tensor3D {
  const scale = 1 / maxValue(image.bitDepth);
  const floats = new Float32Array(image.data.length);
  for (let i = 0; i < floats.length; i++) floats[i] = image.data[i] * scale;
  return tf.tensor3d(floats, [image.height, image.width, image.channels]);
}

export function splitImage(image: Image): ImageTensors {
  const all = imageToTensor(image);
  const hasAlpha = image.channels === 2 || image.channels === 4;
  if (!hasAlpha) return { color: all, bitDepth: image.bitDepth };
  const colorChannels = image.channels - 1;
  const [color, alpha] = tf.split(all, [colorChannels, 1], 2) as [tf.Tensor3D, tf.Tensor3D];
  all.dispose();
  return { color, alpha, bitDepth: image.bitDepth };
}

/** Rounds [0, 1] floats to integers the way MATLAB's im2uint8 does: clip, then round half up. */
export function quantize(t: tf.Tensor, bitDepth: 8 | 16 = 8): tf.Tensor {
  const max = maxValue(bitDepth);
  return tf.tidy(() => tf.floor(tf.clipByValue(t, 0, 1).mul(max).add(0.5)));
}

/** Rounds to the nearest representable level but stays a [0, 1] float. */
export function quantizeUnit(t: tf.Tensor, bitDepth: 8 | 16 = 8): tf.Tensor {
  return tf.tidy(() => quantize(t, bitDepth).div(maxValue(bitDepth)));
}

/**
 * One [0, 1] float as the integer quantize() gives, computed in float32 as the backend does
 * (fround after each step), so JS and tensor rounding agree to the last level.
 */
function quantizeValue(x: number, max: number): number {
  const clipped = x < 0 ? 0 : x > 1 ? 1 : x;
  return Math.floor(Math.fround(Math.fround(clipped * max) + 0.5));
}

/**
 * Joins colour (and alpha) back into an integer Image. The floats are read back and rounded here,
 * one channel group at a time, rather than joined and rounded as tensors: for an 8000x524 band of
 * an RGBA picture those tensor steps held five 67 MB intermediates in wasm memory at once.
 */
export async function tensorsToImage(color: tf.Tensor3D, alpha: tf.Tensor3D | undefined, bitDepth: 8 | 16): Promise<Image> {
  const [height, width, colorChannels] = color.shape;
  const channels = colorChannels + (alpha ? 1 : 0);
  const max = maxValue(bitDepth);
  const pixels = height * width;
  const data = bitDepth === 16 ? new Uint16Array(pixels * channels) : new Uint8Array(pixels * channels);
  const colorValues = await color.data();
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < colorChannels; c++) data[p * channels + c] = quantizeValue(colorValues[p * colorChannels + c], max);
  }
  if (alpha) {
    const alphaValues = await alpha.data();
    for (let p = 0; p < pixels; p++) data[p * channels + colorChannels] = quantizeValue(alphaValues[p], max);
  }
  return { data, width, height, channels: channels as Channels, bitDepth };
}
