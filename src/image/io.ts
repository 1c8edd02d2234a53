/**
 * Reading and writing image files with sharp. Pixels come back as an interleaved, row-major
 * `Image` with its original bit depth; orientation from EXIF is applied; a pixel limit stops
 * decompression bombs before any pixel is decoded.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp, { type Sharp } from 'sharp';
import { SrError, UsageError } from '../core/errors';
import { writeAtomic } from '../core/atomic';

export type Channels = 1 | 2 | 3 | 4;

export interface Image {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
  channels: Channels;
  bitDepth: 8 | 16;
}

/** 100 megapixels: a 10000x10000 photo passes, a forged 100000x100000 header does not. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface ReadOptions {
  maxPixels?: number;
}

export const READABLE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif'];
export const WRITABLE_FORMATS = ['png', 'jpeg', 'webp', 'tiff'] as const;
export type WritableFormat = (typeof WRITABLE_FORMATS)[number];

function isBmp(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x42 && head[1] === 0x4d;
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    const { bytesRead } = await handle.read(buf, 0, 16, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function checkReadable(file: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SrError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${code})`);
  }
  if (stat.isDirectory()) throw new SrError(`${file}: is a directory, expected an image file`);
  if (stat.size === 0) throw new SrError(`${file}: empty file`);
  let head: Buffer;
  try {
    head = await readHead(file);
  } catch (err) {
    throw new SrError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (isBmp(head)) throw new SrError(`${file}: BMP is not supported (sharp cannot decode it); convert it to PNG first`);
}

/** sharp's messages are multi-line and technical; keep the part a user can act on. */
function decodeError(file: string, err: unknown): SrError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg)) return new SrError(`${file}: image is larger than the pixel limit`);
  if (/unsupported image format/i.test(msg)) return new SrError(`${file}: not an image sharp can read`);
  return new SrError(`${file}: cannot decode image (${msg.split('\n')[0].trim()})`);
}

function pickChannels<T extends Uint8Array | Uint16Array>(data: T, stride: number, keep: number[]): T {
  const pixels = data.length / stride;
  const out = new (data.constructor as { new (n: number): T })(pixels * keep.length);
  for (let i = 0; i < pixels; i++) keep.forEach((c, k) => (out[i * keep.length + k] = data[i * stride + c]));
  return out;
}

/** Decodes a file into an Image. Palette and CMYK inputs come out as RGB(A); gray stays gray. */
export async function readImage(file: string, options: ReadOptions = {}): Promise<Image> {
  await checkReadable(file);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  try {
    const input = sharp(file, { limitInputPixels: maxPixels, failOn: 'error', autoOrient: true });
    const meta = await input.metadata();
    if (meta.width * meta.height > maxPixels) throw new SrError(`${file}: image is larger than the pixel limit`);
    // sharp would quietly hand back the first frame; upscaling or scoring that as if it were the
    // whole file would lose the rest without a word.
    if ((meta.format === 'gif' || meta.format === 'webp') && (meta.pages ?? 1) > 1) {
      throw new SrError(`${file}: animated image (${meta.pages} frames) is not supported; extract a frame first`);
    }
    const sixteen = meta.depth === 'ushort';
    const gray = meta.space === 'b-w' || meta.space === 'grey16' || (meta.channels ?? 3) <= 2;
    const alpha = Boolean(meta.hasAlpha);
    // sharp's 'b-w' output drops alpha, so gray+alpha is decoded as RGBA and its gray and alpha
    // channels picked out afterwards.
    const space = gray && !alpha ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
    const { data, info } = await input
      .toColourspace(space)
      .raw({ depth: sixteen ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const decodedChannels = (gray && !alpha ? 1 : 3) + (alpha ? 1 : 0);
    if (info.channels !== decodedChannels) {
      throw new SrError(`${file}: unexpected channel layout (${info.channels} channels, expected ${decodedChannels})`);
    }
    const decoded = sixteen
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2).slice()
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const channels: Channels = gray ? (alpha ? 2 : 1) : alpha ? 4 : 3;
    const pixels = gray && alpha ? pickChannels(decoded, 4, [0, 3]) : decoded;
    return { data: pixels, width: info.width, height: info.height, channels, bitDepth: sixteen ? 16 : 8 };
  } catch (err) {
    if (err instanceof SrError) throw err;
    throw decodeError(file, err);
  }
}

export function formatFromPath(file: string): WritableFormat {
  const ext = path.extname(file).toLowerCase();
  switch (ext) {
    case '.png':
      return 'png';
    case '.jpg':
    case '.jpeg':
      return 'jpeg';
    case '.webp':
      return 'webp';
    case '.tif':
    case '.tiff':
      return 'tiff';
    default:
      throw new UsageError(`${file}: cannot tell the output format from '${ext || 'no extension'}' (use .png, .jpg, .webp or .tif)`);
  }
}

export interface WriteOptions {
  format?: WritableFormat;
  /** 1..100 for JPEG and WebP. */
  quality?: number;
}

/** The sharp pipeline that encodes an Image in the given format. 16-bit survives in PNG and TIFF. */
function encoder(image: Image, format: WritableFormat, quality?: number): Sharp {
  const { width, height, channels } = image;
  let pipeline = sharp(image.data, { raw: { width, height, channels } });
  const gray = channels <= 2;
  const keep16 = image.bitDepth === 16 && (format === 'png' || format === 'tiff');
  if (keep16) pipeline = pipeline.toColourspace(gray ? 'grey16' : 'rgb16');
  else if (image.bitDepth === 16) throw new SrError(`${format} cannot hold 16-bit pixels; convert to 8 bits first`);
  else pipeline = pipeline.toColourspace(gray ? 'b-w' : 'srgb');
  switch (format) {
    case 'png':
      return pipeline.png({ compressionLevel: 6 });
    case 'jpeg':
      return pipeline.jpeg({ quality: quality ?? 95, chromaSubsampling: '4:4:4' });
    case 'webp':
      return pipeline.webp({ quality: quality ?? 95 });
    case 'tiff':
      return pipeline.tiff({ compression: 'lzw' });
  }
}

/** Encodes an Image to bytes in the given format. */
export async function encodeImage(image: Image, format: WritableFormat, quality?: number): Promise<Buffer> {
  return encoder(image, format, quality).toBuffer();
}

/**
 * Writes an image atomically; the format comes from the extension unless given. The encoder
 * streams to the temporary file: an 8000x8000 PNG can be hundreds of megabytes, which need not
 * also sit in memory.
 */
export async function writeImage(file: string, image: Image, options: WriteOptions = {}): Promise<void> {
  const format = options.format ?? formatFromPath(file);
  const pipeline = encoder(image, format, options.quality);
  try {
    await writeAtomic(file, async (tmp) => {
      await pipeline.toFile(tmp);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SrError(`${file}: cannot write (${code ?? (err as Error).message.split('\n')[0]})`);
  }
}

export function isImageFile(name: string): boolean {
  return READABLE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}
