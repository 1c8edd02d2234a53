/**
 * A corpus of awkward and broken image files, generated (nothing is checked in): empty, truncated,
 * not an image at all, a folder with an image's name, tiny, a forged huge header, CMYK, palette,
 * 16-bit, animated, unreadable.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import sharp, { type Metadata } from 'sharp';
import { writeImage } from '../../src/image/io';
import { crc32 } from '../../src/data/archive';
import { patternImage } from '../helpers/images';

export interface CorpusFile {
  name: string;
  file: string;
  /** Decodes to a usable picture (possibly converted): upscale must work. */
  good: boolean;
  /** What the error must say when it is not good. */
  error?: RegExp;
}

export const W = 40;
export const H = 32;

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG whose IHDR (with a correct CRC) claims 100000x100000 RGB pixels. */
export function hugeHeaderPng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(100_000, 0);
  ihdr.writeUInt32BE(100_000, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // A little real compressed data: a decoder that trusted the header would start allocating.
  const idat = pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(4096)));
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), idat, pngChunk('IEND', Buffer.alloc(0))]);
}

async function animated(format: 'gif' | 'webp', file: string): Promise<void> {
  const frames: Buffer[] = [];
  for (let k = 0; k < 3; k++) {
    frames.push(
      await sharp({ create: { width: W, height: H, channels: 3, background: { r: 60 * k, g: 120, b: 200 - 50 * k } } })
        .png()
        .toBuffer(),
    );
  }
  const joined = sharp(frames, { join: { animated: true } });
  await (format === 'gif' ? joined.gif() : joined.webp({ lossless: true })).toFile(file);
}

/** Writes the corpus into `dir`; `unreadable` is only included when permissions can stop a read. */
export async function makeCorpus(dir: string): Promise<{ files: CorpusFile[]; unreadableSkipped?: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const img = patternImage(W, H, 3);
  const raw = () => sharp(Buffer.from(img.data), { raw: { width: W, height: H, channels: 3 } });
  const png = await raw().png().toBuffer();
  const jpeg = await raw().jpeg({ quality: 90 }).toBuffer();
  const at = (name: string) => path.join(dir, name);
  const files: CorpusFile[] = [];
  const add = (name: string, good: boolean, error?: RegExp) => files.push({ name, file: at(name), good, error });

  fs.writeFileSync(at('zero-bytes.png'), '');
  add('zero-bytes.png', false, /empty file/);
  fs.writeFileSync(at('truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
  add('truncated.png', false, /cannot decode image/);
  fs.writeFileSync(at('truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  add('truncated.jpg', false, /cannot decode image/);
  fs.writeFileSync(at('text.png'), 'these are words, not pixels\n');
  add('text.png', false, /not an image/);
  fs.mkdirSync(at('folder.png'));
  add('folder.png', false, /is a directory/);
  fs.writeFileSync(at('huge-header.png'), hugeHeaderPng());
  add('huge-header.png', false, /larger than the pixel limit/);
  await animated('gif', at('animated.gif'));
  add('animated.gif', false, /animated image \(3 frames\)/);
  await animated('webp', at('animated.webp'));
  add('animated.webp', false, /animated image \(3 frames\)/);

  await writeImage(at('one-pixel.png'), patternImage(1, 1, 3));
  add('one-pixel.png', true);
  await writeImage(at('tiny.png'), patternImage(5, 4, 3));
  add('tiny.png', true);
  await raw().toColourspace('cmyk').jpeg().toFile(at('cmyk.jpg'));
  add('cmyk.jpg', true);
  await raw().png({ palette: true, colours: 16 }).toFile(at('palette.png'));
  add('palette.png', true);
  await writeImage(at('deep.png'), patternImage(W, H, 3, 16));
  add('deep.png', true);

  // chmod 000 stops nobody running as root (as these tests often do): include the case only
  // where it really makes the file unreadable.
  const locked = at('unreadable.png');
  fs.writeFileSync(locked, png);
  fs.chmodSync(locked, 0o000);
  let readable = true;
  try {
    fs.closeSync(fs.openSync(locked, 'r'));
  } catch {
    readable = false;
  }
  if (readable) {
    fs.rmSync(locked);
    return { files, unreadableSkipped: 'unreadable.png skipped: this process can read a chmod 000 file (it runs as root)' };
  }
  add('unreadable.png', false, /cannot read \(EACCES\)/);
  return { files };
}

/** Checks that each generated file is what it claims to be, so a case cannot pass by accident. */
export async function describeCorpus(dir: string): Promise<Record<string, Metadata>> {
  const out: Record<string, Metadata> = {};
  for (const name of ['huge-header.png', 'cmyk.jpg', 'palette.png', 'deep.png', 'animated.gif', 'animated.webp']) {
    out[name] = await sharp(path.join(dir, name), { limitInputPixels: false }).metadata();
  }
  return out;
}
