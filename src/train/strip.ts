/**
 * A progress picture for training runs: one fixed validation crop shown as LR | bicubic | SR | HR,
 * side by side at HR size, so a run's `strips/` folder shows how its output evolves (what the loss
 * curve cannot: GAN texture, ringing, colour casts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readImage, writeImage } from '../image/io';
import { imresize } from '../image/resize';
import { splitImage, tensorsToImage } from '../image/tensor';
import type { Upscaler } from '../infer/upscaler';
import { degrade } from '../infer/evaluate';

export interface StripCrop {
  /** HR crop, RGB in [0, 1], sides a multiple of the scale. */
  hr: tf.Tensor3D;
  /** Its benchmark LR (MATLAB bicubic, 8-bit). */
  lr: tf.Tensor3D;
  scale: number;
}

/** The centre square of an image, `side` pixels at most, cut to a multiple of the scale; gray becomes RGB. */
export async function stripCrop(file: string, scale: number, side = 96): Promise<StripCrop> {
  const { color, alpha } = splitImage(await readImage(file));
  alpha?.dispose();
  return tf.tidy(() => {
    const [h, w] = color.shape;
    const s = Math.floor(Math.min(side, h, w) / scale) * scale;
    const cut = color.slice([Math.floor((h - s) / 2), Math.floor((w - s) / 2), 0], [s, s, color.shape[2]]);
    color.dispose();
    const hr = (cut.shape[2] === 1 ? tf.tile(cut, [1, 1, 3]) : cut) as tf.Tensor3D;
    return { hr, lr: degrade(hr, scale), scale };
  });
}

/** Nearest-neighbour enlargement, so the LR panel shows its real pixels at HR size. */
function enlargeNearest(lr: tf.Tensor3D, scale: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w, c] = lr.shape;
    return lr
      .reshape([h, 1, w, 1, c])
      .tile([1, scale, 1, scale, 1])
      .reshape([h * scale, w * scale, c]) as tf.Tensor3D;
  });
}

/** Writes LR | bicubic | SR | HR as one PNG (atomically, like every output). */
export async function writeStrip(file: string, crop: StripCrop, upscaler: Upscaler): Promise<void> {
  const sr = await upscaler.upscale(crop.lr);
  const strip = tf.tidy(() => {
    const panels = [enlargeNearest(crop.lr, crop.scale), imresize(crop.lr, crop.scale), sr, crop.hr].map((p) => p.clipByValue(0, 1));
    return tf.concat(panels, 1) as tf.Tensor3D;
  });
  sr.dispose();
  try {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await writeImage(file, await tensorsToImage(strip, undefined, 8));
  } finally {
    strip.dispose();
  }
}
