/**
 * Upscaling in tiles, so memory stays bounded whatever the image size: the LR image is cut into
 * tiles of one fixed shape (so backend kernels are set up once), each grown by `pad` pixels of real
 * context on every side, upscaled, and only its centre kept. With `pad` at least the network's
 * reach, the result equals the whole-image one (to rounding).
 */
import * as tf from '@tensorflow/tfjs';
import type { Upscaler } from './upscaler';

export interface TileOptions {
  /** Tile side in LR pixels; 0 picks one from the image size. */
  tile: number;
  /** LR pixels of context around each tile. */
  pad: number;
  onTile?: (done: number, total: number) => void;
}

/** Output pixels above which `tile: 0` starts tiling (a 2048x2048 result is done whole). */
export const AUTO_TILE_OUTPUT_PIXELS = 2048 * 2048;
export const AUTO_TILE_SIZE = 192;
export const DEFAULT_TILE_PAD = 16;

export function autoTileSize(height: number, width: number, scale: number): number {
  return height * width * scale * scale > AUTO_TILE_OUTPUT_PIXELS ? AUTO_TILE_SIZE : 0;
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
    dispose: () => inner.dispose(),
    async upscale(lr: tf.Tensor3D): Promise<tf.Tensor3D> {
      const [h, w, c] = lr.shape;
      const s = inner.scale;
      const tile = options.tile > 0 ? options.tile : autoTileSize(h, w, s);
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
