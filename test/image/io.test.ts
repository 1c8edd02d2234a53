import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { readImage, writeImage, formatFromPath, encodeImage } from '../../src/image/io';
import { SrError, UsageError } from '../../src/core/errors';
import { patternImage } from '../helpers/images';
import { tempDir } from '../helpers/env';

const dir = tempDir('sr-io-');

describe('readImage / writeImage', () => {
  it.each([
    ['RGB 8-bit PNG', 3, 8],
    ['RGBA 8-bit PNG', 4, 8],
    ['gray 8-bit PNG', 1, 8],
    ['gray+alpha PNG', 2, 8],
    ['RGB 16-bit PNG', 3, 16],
    ['gray 16-bit PNG', 1, 16],
  ] as const)('round-trips %s losslessly', async (_label, channels, bitDepth) => {
    const img = patternImage(13, 9, channels, bitDepth);
    const file = path.join(dir, `rt-${channels}-${bitDepth}.png`);
    await writeImage(file, img);
    const back = await readImage(file);
    expect(back.width).toBe(13);
    expect(back.height).toBe(9);
    expect(back.channels).toBe(channels);
    expect(back.bitDepth).toBe(bitDepth);
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
  });

  it('writes JPEG, WebP and TIFF by extension', async () => {
    const img = patternImage(16, 16, 3);
    for (const ext of ['jpg', 'webp', 'tif']) {
      const file = path.join(dir, `fmt.${ext}`);
      await writeImage(file, img, { quality: 90 });
      const meta = await sharp(file).metadata();
      expect(meta.format).toBe(ext === 'jpg' ? 'jpeg' : ext === 'tif' ? 'tiff' : ext);
      expect((await readImage(file)).channels).toBe(3);
    }
  });

  it('applies EXIF orientation', async () => {
    const file = path.join(dir, 'rotated.jpg');
    // Stored 20 wide and 10 high, tagged "rotate 90 degrees clockwise to display" (orientation 6).
    const raw = patternImage(20, 10, 3);
    await sharp(raw.data, { raw: { width: 20, height: 10, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(file);
    const img = await readImage(file);
    expect([img.width, img.height]).toEqual([10, 20]);
  });

  it('reads palette PNGs as RGB', async () => {
    const file = path.join(dir, 'palette.png');
    const raw = patternImage(12, 12, 3);
    await sharp(raw.data, { raw: { width: 12, height: 12, channels: 3 } })
      .png({ palette: true, colours: 16 })
      .toFile(file);
    expect((await sharp(file).metadata()).isPalette).toBe(true);
    const img = await readImage(file);
    expect(img.channels).toBe(3);
    expect(img.bitDepth).toBe(8);
  });

  it('refuses images over the pixel limit before decoding them', async () => {
    const file = path.join(dir, 'big.png');
    await writeImage(file, patternImage(100, 100, 1));
    await expect(readImage(file, { maxPixels: 5000 })).rejects.toThrow(/pixel limit/);
  });

  it('gives one-line errors for files that are not readable images', async () => {
    const cases: [string, Buffer | null, RegExp][] = [
      ['missing.png', null, /no such file/],
      ['empty.png', Buffer.alloc(0), /empty file/],
      ['text.png', Buffer.from('hello, this is not a picture\n'), /not an image|cannot decode/],
      ['image.bmp', Buffer.from('BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00', 'latin1'), /BMP is not supported/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const file = path.join(dir, name);
      if (bytes) fs.writeFileSync(file, bytes);
      const err = await readImage(file).catch((e) => e);
      expect(err).toBeInstanceOf(SrError);
      expect(err.message).toMatch(pattern);
      expect(err.message).toContain(file);
      expect(err.message).not.toContain('\n');
    }
    const truncated = path.join(dir, 'truncated.png');
    const good = await encodeImage(patternImage(64, 64, 3), 'png');
    fs.writeFileSync(truncated, good.subarray(0, good.length / 2));
    await expect(readImage(truncated)).rejects.toBeInstanceOf(SrError);
    await expect(readImage(dir)).rejects.toThrow(/is a directory/);
  });

  it('writes atomically: no temp files left, and a failed write keeps the old file', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const file = path.join(sub, 'out.png');
    await writeImage(file, patternImage(8, 8, 3));
    const before = fs.readFileSync(file);
    // 16-bit pixels cannot be written as JPEG: the encode fails before anything touches the disk.
    await expect(writeImage(path.join(sub, 'out.jpg'), patternImage(8, 8, 3, 16))).rejects.toBeInstanceOf(SrError);
    expect(fs.readdirSync(sub)).toEqual(['out.png']);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('picks the output format from the extension and rejects unknown ones', () => {
    expect(formatFromPath('a.PNG')).toBe('png');
    expect(formatFromPath('a.jpeg')).toBe('jpeg');
    expect(() => formatFromPath('a.gifx')).toThrow(UsageError);
  });
});
