/** Small images made in the tests, so nothing depends on files the repo does not own. */
import type { Channels, Image } from '../../src/image/io';

/** A smooth colourful pattern with some detail, deterministic. */
export function patternImage(width: number, height: number, channels: Channels = 3, bitDepth: 8 | 16 = 8): Image {
  const max = bitDepth === 16 ? 65535 : 255;
  const data = bitDepth === 16 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v =
          c === channels - 1 && (channels === 2 || channels === 4)
            ? 0.25 + 0.75 * (x / Math.max(1, width - 1)) // alpha ramp
            : 0.5 + 0.25 * Math.sin((x + 3 * c) / 3) * Math.cos((y - 2 * c) / 4) + 0.2 * Math.sin((x * y) / 37 + c);
        data[(y * width + x) * channels + c] = Math.round(Math.min(1, Math.max(0, v)) * max);
      }
    }
  }
  return { data, width, height, channels, bitDepth };
}

export function flatImage(width: number, height: number, rgb: number[]): Image {
  const data = new Uint8Array(width * height * rgb.length);
  for (let i = 0; i < width * height; i++) rgb.forEach((v, c) => (data[i * rgb.length + c] = v));
  return { data, width, height, channels: rgb.length as Channels, bitDepth: 8 };
}
