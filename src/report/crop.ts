/**
 * The crops that reports and comparison grids show: where to cut (automatically, where the
 * baseline is furthest from the truth), cutting, and enlarging with nearest neighbour so every
 * pixel stays a visible square.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors';
import { luma } from '../image/color';
import type { Image } from '../image/io';
import { quantize } from '../image/tensor';

export interface CropRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** HR pixels on each side of an automatic crop: small enough to keep a report light. */
export const DEFAULT_CROP_SIZE = 96;
export const DEFAULT_ZOOM = 3;
export const MAX_ZOOM = 16;

/** Squared difference of the BT.601 Y of two [H, W, 1|3] images in [0, 1], row-major [H * W]. */
export async function squaredErrorMap(a: tf.Tensor3D, b: tf.Tensor3D): Promise<Float32Array> {
  if (a.shape.join('x') !== b.shape.join('x'))
    throw new Error(`error map of different shapes: ${a.shape.join('x')} vs ${b.shape.join('x')}`);
  const map = tf.tidy(() => tf.squaredDifference(luma(tf.clipByValue(a, 0, 1)), luma(tf.clipByValue(b, 0, 1))));
  const values = (await map.data()) as Float32Array;
  map.dispose();
  return values;
}

/**
 * The `cropWidth` x `cropHeight` window with the largest sum of `map` (a summed-area table makes
 * every position one lookup). Windows keep `border` pixels from the edges when the image is large
 * enough, since borders are not scored and a model's padding shows there; ties go to the first
 * window in row order.
 */
export function largestWindow(
  map: ArrayLike<number>,
  width: number,
  height: number,
  cropWidth: number,
  cropHeight: number,
  border = 0,
): CropRect {
  const cw = Math.min(cropWidth, width);
  const ch = Math.min(cropHeight, height);
  const bx = width - cw >= 2 * border ? border : 0;
  const by = height - ch >= 2 * border ? border : 0;
  const stride = width + 1;
  // Float64 sums: a 100-megapixel map of float32 squares would lose precision in float32.
  const sat = new Float64Array((width + 1) * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += map[y * width + x];
      sat[(y + 1) * stride + x + 1] = sat[y * stride + x + 1] + row;
    }
  }
  let best = { x: bx, y: by, sum: -Infinity };
  for (let y = by; y <= height - ch - by; y++) {
    for (let x = bx; x <= width - cw - bx; x++) {
      const sum = sat[(y + ch) * stride + x + cw] - sat[y * stride + x + cw] - sat[(y + ch) * stride + x] + sat[y * stride + x];
      if (sum > best.sum) best = { x, y, sum };
    }
  }
  return { x: best.x, y: best.y, width: cw, height: ch };
}

/** A crop given by the user must lie inside the image. */
export function checkCrop(rect: CropRect, width: number, height: number): void {
  const { x, y, width: w, height: h } = rect;
  if (w < 1 || h < 1 || x < 0 || y < 0 || x + w > width || y + h > height) {
    throw new UsageError(`crop ${x},${y},${w},${h} does not fit inside the ${width}x${height} image`);
  }
}

/** Enlarges an image `zoom` times, each pixel becoming a zoom x zoom block. */
export function zoomNearest(image: Image, zoom: number): Image {
  if (!Number.isInteger(zoom) || zoom < 1) throw new Error(`zoom must be a positive whole number, got ${zoom}`);
  if (zoom === 1) return image;
  const { width, height, channels } = image;
  const [ow, oh] = [width * zoom, height * zoom];
  const data = new (image.data.constructor as { new (n: number): Uint8Array | Uint16Array })(ow * oh * channels);
  for (let y = 0; y < oh; y++) {
    const srcRow = Math.floor(y / zoom) * width;
    for (let x = 0; x < ow; x++) {
      const src = (srcRow + Math.floor(x / zoom)) * channels;
      const dst = (y * ow + x) * channels;
      for (let c = 0; c < channels; c++) data[dst + c] = image.data[src + c];
    }
  }
  return { data, width: ow, height: oh, channels, bitDepth: image.bitDepth };
}

/**
 * `rect` of an [H, W, 1|3] float image in [0, 1] as an 8-bit RGB Image (gray replicated, so every
 * panel of a grid has one layout), enlarged `zoom` times by nearest neighbour.
 */
export async function cropToImage(t: tf.Tensor3D, rect: CropRect, zoom: number): Promise<Image> {
  checkCrop(rect, t.shape[1], t.shape[0]);
  const crop = tf.tidy(() => {
    const part = tf.slice(t, [rect.y, rect.x, 0], [rect.height, rect.width, t.shape[2]]);
    return quantize(part.shape[2] === 1 ? tf.tile(part, [1, 1, 3]) : part, 8);
  });
  const values = await crop.data();
  crop.dispose();
  return zoomNearest({ data: Uint8Array.from(values), width: rect.width, height: rect.height, channels: 3, bitDepth: 8 }, zoom);
}
