/**
 * Writes small zip files for the tests, including malicious ones no ordinary zip tool would make
 * (entries named `../evil.png` or `/abs/path`, symlinks, lying CRCs). Only what the tests need:
 * no zip64, no encryption, stored or deflated entries.
 */
import * as zlib from 'zlib';

export interface ZipEntrySpec {
  name: string;
  data?: Buffer | string;
  /** Deflate (default) or store the bytes as they are. */
  method?: 'deflate' | 'store';
  /** Unix mode for the external attributes, e.g. 0o120777 for a symlink; default a plain 0o100644 file. */
  unixMode?: number;
  /** Replace the real CRC-32 (to make a corrupt entry). */
  crcOverride?: number;
  /** Declare this uncompressed size instead of the real one (to make a lying entry). */
  sizeOverride?: number;
}

const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
const UTF8_NAMES = 0x0800;
const MADE_BY_UNIX = (3 << 8) | 20;
// 2020-01-01 00:00 in MS-DOS date/time format; any fixed date will do.
const DOS_TIME = 0;
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1;

export function makeZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const spec of entries) {
    const name = Buffer.from(spec.name, 'utf8');
    const raw = Buffer.from(spec.data ?? '');
    const isDir = spec.name.endsWith('/');
    const method = spec.method === 'store' || isDir ? METHOD_STORE : METHOD_DEFLATE;
    const stored = method === METHOD_DEFLATE ? zlib.deflateRawSync(raw) : raw;
    const crc = spec.crcOverride ?? crc32Bitwise(raw);
    const declaredSize = spec.sizeOverride ?? raw.length;
    const mode = spec.unixMode ?? (isDir ? 0o040755 : 0o100644);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(declaredSize, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(UTF8_NAMES, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(declaredSize, 24);
    central.writeUInt16LE(name.length, 28);
    // extra length, comment length, disk number, internal attributes: all 0 (bytes 30-37)
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);

    locals.push(local, name, stored);
    centrals.push(central, name);
    offset += local.length + name.length + stored.length;
  }
  const centralDir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDir, end]);
}

/** CRC-32 (IEEE) bit by bit: slow, obviously right, and independent of the code under test. */
export function crc32Bitwise(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * An archive laid out like the SelfExSR releases: `<top>/image_SRF_<s>/<img>_SRF_<s>_{HR,LR,bicubic}.png`
 * for s = 2 and 4. Each file's bytes name the file, so a test can tell which one was extracted.
 */
export function makeSelfExSrZip(imageNames: string[], top = 'Set5/', extra: ZipEntrySpec[] = []): Buffer {
  const entries: ZipEntrySpec[] = [];
  for (const scale of [2, 4]) {
    entries.push({ name: `${top}image_SRF_${scale}/` });
    for (const img of imageNames) {
      for (const kind of ['HR', 'LR', 'bicubic']) {
        const name = `${top}image_SRF_${scale}/${img}_SRF_${scale}_${kind}.png`;
        entries.push({ name, data: `${kind} x${scale} ${img}`, method: kind === 'LR' ? 'store' : 'deflate' });
      }
    }
  }
  return makeZip([...entries, ...extra]);
}
