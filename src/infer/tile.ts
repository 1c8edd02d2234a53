/**
 * Upscaling in tiles, so memory stays bounded whatever the image size: the LR image is cut into
 * tiles of one fixed shape (so backend kernels are set up once), each grown by `pad` pixels of real
 * context on every side, upscaled, and only its centre kept. With `pad` at least the network's
 * reach, the result equals the whole-image one (to rounding).
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import type { Upscaler } from './upscaler';

/** `--tile`: a side in LR pixels, 0 for the whole image, or 'auto' (from free memory). */
export type TileSize = number | 'auto';

export interface TileOptions {
  /** Tile side in LR pixels; 0: the whole image at once; 'auto': picked from free memory. */
  tile: TileSize;
  /** LR pixels of context around each tile. */
  pad: number;
  onTile?: (done: number, total: number) => void;
  /** Working-memory budget for 'auto' in bytes (default: autoTileBudget()). */
  budgetBytes?: number;
}

export const DEFAULT_TILE_PAD = 16;
/** Tile sides 'auto' chooses from, largest first (multiples of 32 keep kernels' blocks whole). */
export const AUTO_TILE_SIDES = [512, 384, 256, 192, 128, 96, 64, 32];
const MiB = 1024 * 1024;
export const MIN_TILE_BUDGET = 128 * MiB;
export const MAX_TILE_BUDGET = 512 * MiB;

/**
 * The working memory 'auto' lets one network run take: a quarter of the memory free now, within
 * 128-512 MiB. Beyond 512 MiB, larger tiles gain little speed (the padding overhead of a 192 tile
 * is already down to 36%), and the rest of a large picture's work needs room too.
 */
export function autoTileBudget(freeBytes = os.freemem()): number {
  return Math.min(MAX_TILE_BUDGET, Math.max(MIN_TILE_BUDGET, freeBytes / 4));
}

/** Bytes per LR pixel assumed for an upscaler that gives none: four float maps of 4 channels at output size. */
export function defaultBytesPerPixel(scale: number): number {
  return 4 * 4 * 4 * scale * scale;
}

/**
 * 'auto' made concrete: 0 (whole) when the image fits the budget, else the largest side whose padded
 * window does, and the smallest side when none does.
 */
export function autoTileSize(height: number, width: number, bytesPerPixel: number, pad: number, budgetBytes: number): number {
  if (height * width * bytesPerPixel <= budgetBytes) return 0;
  const fits = AUTO_TILE_SIDES.find(
    (side) => Math.min(height, side + 2 * pad) * Math.min(width, side + 2 * pad) * bytesPerPixel <= budgetBytes,
  );
  return fits ?? AUTO_TILE_SIDES[AUTO_TILE_SIDES.length - 1];
}

/** Start positions of fixed-size windows covering [0, length): the last one is moved back to fit. */
export function tileStarts(length: number, size: number): number[] {
  if (size >= length) return [0];
  const starts: number[] = [];
  for (let s = 0; s + size < length; s += size) starts.push(s);
  starts.push(length - size);
  return starts;
}

export function tiledUpscaler(inner: Upscaler, options: TileOptions): Upscaler {
  return {
    name: inner.name,
    scale: inner.scale,
    engine: inner.engine,
    bytesPerPixel: inner.bytesPerPixel,
    dispose: () => inner.dispose(),
    async upscale(lr: tf.Tensor3D): Promise<tf.Tensor3D> {
      const [h, w, c] = lr.shape;
      const s = inner.scale;
      const tile =
        options.tile === 'auto'
          ? autoTileSize(h, w, inner.bytesPerPixel ?? defaultBytesPerPixel(s), options.pad, options.budgetBytes ?? autoTileBudget())
          : options.tile;
      if (tile === 0 || (tile >= h && tile >= w)) return inner.upscale(lr);
      const [th, tw] = [Math.min(tile, h), Math.min(tile, w)];
      // The padded window, clamped inside the image, has the same shape for every tile.
      const [wh, ww] = [Math.min(h, th + 2 * options.pad), Math.min(w, tw + 2 * options.pad)];
      const ys = tileStarts(h, th);
      const xs = tileStarts(w, tw);
      const out = new Float32Array(h * s * w * s * c);
      const total = ys.length * xs.length;
      let done = 0;
      for (const y0 of ys) {
        for (const x0 of xs) {
          const wy = Math.min(Math.max(0, y0 - options.pad), h - wh);
          const wx = Math.min(Math.max(0, x0 - options.pad), w - ww);
          const window = tf.slice(lr, [wy, wx, 0], [wh, ww, c]);
          const up = await inner.upscale(window);
          window.dispose();
          const centre = tf.tidy(() => tf.slice(up, [(y0 - wy) * s, (x0 - wx) * s, 0], [th * s, tw * s, c]));
          up.dispose();
          const values = await centre.data();
          centre.dispose();
          const rowLength = tw * s * c;
          for (let r = 0; r < th * s; r++) {
            out.set(values.subarray(r * rowLength, (r + 1) * rowLength), ((y0 * s + r) * w * s + x0 * s) * c);
          }
          options.onTile?.(++done, total);
        }
      }
      return tf.tensor3d(out, [h * s, w * s, c]);
    },
  };
}
