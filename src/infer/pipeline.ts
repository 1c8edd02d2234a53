/**
 * The image pipeline around an Upscaler, as `sr upscale` runs it on a decoded picture: colour
 * through the upscaler, alpha by bicubic or through the model, gray kept gray, bit depth kept, a
 * final `--outscale`, and large pictures in bands of rows so memory stays bounded.
 */
import * as tf from '@tensorflow/tfjs';
import type { Image } from '../image/io';
import { imresize } from '../image/resize';
import { splitImage, tensorsToImage } from '../image/tensor';
import { DEFAULT_TILE_PAD } from './tile';
import type { Upscaler } from './upscaler';

/** LR pixels mirrored around an alpha channel before the model sees it (at most the image size). */
export const ALPHA_MODEL_PAD = 16;

/**
 * An alpha channel [H, W, 1] through an upscaler, to [H*s, W*s, 1]. It goes in replicated to RGB
 * rather than as gray: RGB reaches a Y-channel model as BT.601 Y in [16, 235], the range it was
 * trained on, whereas gray is fed as is and its 0 and 1 lie outside it (the shipped SRCNN x2 turns
 * a gray 0 into 7/255, a visible haze over a transparent background, but keeps an RGB 0 at 0).
 * It is mirror-padded first because models trained with zero 'same' padding darken the border,
 * which would fade an opaque image's edges (by up to 12 levels with SRCNN).
 */
export async function upscaleAlphaWithModel(alpha: tf.Tensor3D, upscaler: Upscaler): Promise<tf.Tensor3D> {
  const [h, w] = alpha.shape;
  const s = upscaler.scale;
  const [py, px] = [Math.min(ALPHA_MODEL_PAD, h), Math.min(ALPHA_MODEL_PAD, w)];
  const input = tf.tidy(
    () =>
      tf.tile(
        tf.mirrorPad(
          alpha,
          [
            [py, py],
            [px, px],
            [0, 0],
          ],
          'symmetric',
        ),
        [1, 1, 3],
      ) as tf.Tensor3D,
  );
  let up: tf.Tensor3D;
  try {
    up = await upscaler.upscale(input);
  } finally {
    input.dispose();
  }
  const out = tf.tidy(() => up.slice([py * s, px * s, 0], [h * s, w * s, 3]).mean(2, true) as tf.Tensor3D);
  up.dispose();
  return out;
}

/** How an alpha channel is upscaled: MATLAB bicubic, or by the model as a gray image. */
export type AlphaMode = 'bicubic' | 'model';
export const ALPHA_MODES: AlphaMode[] = ['bicubic', 'model'];

export interface UpscaleImageOptions {
  /** Final scale when it differs from the upscaler's (bicubic does the rest). */
  outscale?: number;
  /** Default 'bicubic': smooth, never ringing, and free. */
  alpha?: AlphaMode;
  /** Output pixels per band of a large image (default BAND_OUTPUT_PIXELS); see upscaleImage. */
  bandPixels?: number;
}

/**
 * Output pixels above which a picture is done in horizontal bands. A 2000x2000 RGBA picture at x4
 * is 8000x8000: whole, its float colour, alpha, joined and rounded copies alone would pass 3 GB
 * (wasm's heap ends at 4 GB), so only one band's tensors exist at a time and the rounded bands are
 * written straight into the output's integer buffer.
 */
export const BAND_OUTPUT_PIXELS = 2048 * 2048;
/** LR rows of real context above and below a band (as much as a tile gets: the networks' reach). */
export const BAND_CONTEXT = DEFAULT_TILE_PAD;

/**
 * Upscales a whole decoded image: colour through the upscaler, alpha (if any) by bicubic or, with
 * `alpha: 'model'`, through the same upscaler as a gray image (sharper mask edges), gray stays
 * gray, bit depth is kept. With `outscale`, the model's result is resized (MATLAB bicubic) to
 * round(size * outscale), for scales the model was not trained for.
 *
 * Large results are made band by band: each band of LR rows is upscaled with BAND_CONTEXT rows of
 * context on each side, which are then cut away, so the bands join without seams (as tiles do).
 */
export async function upscaleImage(image: Image, upscaler: Upscaler, options: UpscaleImageOptions = {}): Promise<Image> {
  const s = upscaler.scale;
  const rowPixels = image.width * s * s;
  const bandRows = Math.max(1, Math.floor((options.bandPixels ?? BAND_OUTPUT_PIXELS) / rowPixels));
  // A non-integer final scale maps output rows across band edges: such pictures are done whole.
  const integerScale = options.outscale === undefined || options.outscale === s;
  if (!integerScale || image.height <= bandRows) return upscaleWhole(image, upscaler, options);
  const rowValues = image.width * image.channels;
  const outRowValues = image.width * s * image.channels;
  const data = image.bitDepth === 16 ? new Uint16Array(image.height * s * outRowValues) : new Uint8Array(image.height * s * outRowValues);
  for (let y0 = 0; y0 < image.height; y0 += bandRows) {
    const y1 = Math.min(image.height, y0 + bandRows);
    const [c0, c1] = [Math.max(0, y0 - BAND_CONTEXT), Math.min(image.height, y1 + BAND_CONTEXT)];
    const band: Image = { ...image, height: c1 - c0, data: image.data.subarray(c0 * rowValues, c1 * rowValues) };
    const up = await upscaleWhole(band, upscaler, options);
    data.set(up.data.subarray((y0 - c0) * s * outRowValues, (y1 - c0) * s * outRowValues), y0 * s * outRowValues);
  }
  return { data, width: image.width * s, height: image.height * s, channels: image.channels, bitDepth: image.bitDepth };
}

async function upscaleWhole(image: Image, upscaler: Upscaler, options: UpscaleImageOptions): Promise<Image> {
  const { color, alpha, bitDepth } = splitImage(image);
  const factor = options.outscale ?? upscaler.scale;
  const [outH, outW] = [Math.max(1, Math.round(image.height * factor)), Math.max(1, Math.round(image.width * factor))];
  const toOutput = (t: tf.Tensor3D) => {
    if (t.shape[0] === outH && t.shape[1] === outW) return t;
    const resized = imresize(t, factor / upscaler.scale, { outHeight: outH, outWidth: outW });
    t.dispose();
    return resized;
  };
  const upscaleAlpha = async (a: tf.Tensor3D): Promise<tf.Tensor3D> => {
    const up =
      options.alpha === 'model'
        ? toOutput(await upscaleAlphaWithModel(a, upscaler))
        : imresize(a, factor, { outHeight: outH, outWidth: outW });
    const clipped = tf.clipByValue(up, 0, 1) as tf.Tensor3D;
    up.dispose();
    return clipped;
  };
  try {
    const sr = toOutput(await upscaler.upscale(color));
    let alphaSr: tf.Tensor3D | undefined;
    try {
      if (alpha) alphaSr = await upscaleAlpha(alpha);
      return await tensorsToImage(sr, alphaSr, bitDepth);
    } finally {
      tf.dispose([sr, alphaSr].filter((t): t is tf.Tensor3D => t !== undefined));
    }
  } finally {
    tf.dispose([color, alpha].filter((t): t is tf.Tensor3D => t !== undefined));
  }
}
