/**
 * One image file upscaled to one output file, written atomically. Local `sr upscale` and queue
 * workers both call this, so an image gives the same bytes wherever it runs.
 */
import { formatFromPath, readImage, writeImage, type Image, type WritableFormat } from '../image/io';
import { upscaleImage, type AlphaMode, type Upscaler } from '../infer';

/** One output, as the folder summary lists it. */
export interface Written {
  input: string;
  output: string;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  seconds: number;
}

export interface FileOptions {
  quality?: number;
  outscale?: number;
  format?: WritableFormat;
  alpha?: AlphaMode;
}

/** `decoded`: the input already read (a single-image run reads it before loading the model). */
export async function upscaleFile(
  input: string,
  output: string,
  upscaler: Upscaler,
  options: FileOptions,
  decoded?: Image,
): Promise<Written> {
  const started = Date.now();
  const image = decoded ?? (await readImage(input));
  const result = await upscaleImage(image, upscaler, { outscale: options.outscale, alpha: options.alpha });
  await writeImage(output, result, { format: options.format ?? formatFromPath(output), quality: options.quality });
  const { width, height, channels, bitDepth } = result;
  return { input, output, width, height, channels, bitDepth, seconds: (Date.now() - started) / 1000 };
}
