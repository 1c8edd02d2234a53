/**
 * Safe zip extraction. Every entry is checked before a single byte is written: names that would
 * land outside the target folder (absolute paths, drive letters, `..`, backslashes), symlinks and
 * other special files make the whole archive rejected, and the entry count and total uncompressed
 * size are capped so a zip bomb cannot fill the disk. Sizes and CRC-32s are checked while writing.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import * as yauzl from 'yauzl';
import { SrError } from '../core/errors';

export interface ExtractLimits {
  /** Most entries (files and folders) the archive may list. */
  maxEntries: number;
  /** Most bytes the extracted files may add up to. */
  maxTotalBytes: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxEntries: 50_000, maxTotalBytes: 8 * 1024 ** 3 };

export interface ExtractOptions {
  /**
   * Decides each file entry from its name: false skips it, true extracts it under its own name, a
   * string extracts it under that relative path instead. Folders are created as files need them.
   */
  filter?: (entryName: string) => boolean | string;
  limits?: Partial<ExtractLimits>;
  signal?: AbortSignal;
}

export interface ExtractResult {
  /** Relative paths written under destDir, in archive order. */
  files: string[];
  bytes: number;
}

/**
 * Extracts the entries `filter` selects into destDir. On failure, files already written stay:
 * extract into a fresh folder and delete it if this throws.
 */
export async function extractZip(zipPath: string, destDir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const limits: ExtractLimits = {
    maxEntries: options.limits?.maxEntries ?? DEFAULT_EXTRACT_LIMITS.maxEntries,
    maxTotalBytes: options.limits?.maxTotalBytes ?? DEFAULT_EXTRACT_LIMITS.maxTotalBytes,
  };
  const zip = await openZip(zipPath);
  try {
    if (zip.entryCount > limits.maxEntries) {
      const counts = `${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`;
      throw new SrError(`refusing to extract ${zipPath}: ${counts}`);
    }
    const entries = await readAllEntries(zip);
    const plan = planExtraction(entries, destDir, options.filter ?? (() => true), limits, zipPath);
    await fs.promises.mkdir(destDir, { recursive: true });
    let bytes = 0;
    for (const item of plan) {
      if (options.signal?.aborted) throw new SrError('extraction cancelled');
      bytes += await extractEntry(zip, item, limits.maxTotalBytes - bytes, zipPath);
    }
    return { files: plan.map((item) => item.relativePath), bytes };
  } finally {
    zip.close();
  }
}

interface PlannedFile {
  entry: yauzl.Entry;
  entryName: string;
  relativePath: string;
  outputPath: string;
}

/** Validates the whole archive and decides where each selected file goes; writes nothing. */
function planExtraction(
  entries: yauzl.Entry[],
  destDir: string,
  filter: (entryName: string) => boolean | string,
  limits: ExtractLimits,
  zipPath: string,
): PlannedFile[] {
  const root = path.resolve(destDir);
  const plan: PlannedFile[] = [];
  const outputs = new Set<string>();
  let declaredBytes = 0;
  for (const entry of entries) {
    const entryName = entryNameOf(entry);
    const refuse = (why: string) => new SrError(`refusing to extract ${zipPath}: entry '${entryName}' ${why}`);
    const unsafe = unsafeNameReason(entryName) ?? unsafeTypeReason(entry);
    if (unsafe) throw refuse(unsafe);
    if (entryName.endsWith('/') || isDirectoryEntry(entry)) continue;

    const choice = filter(entryName);
    if (choice === false) continue;
    const relativePath = choice === true ? entryName : choice;
    const renamedUnsafe = unsafeNameReason(relativePath);
    if (renamedUnsafe) throw refuse(`would be written as '${relativePath}', which ${renamedUnsafe}`);
    const outputPath = path.resolve(root, relativePath);
    if (!outputPath.startsWith(root + path.sep)) throw refuse('escapes the target folder');
    if (outputs.has(outputPath)) throw refuse(`is a second entry for '${relativePath}'`);
    if (entry.isEncrypted()) throw refuse('is encrypted');

    declaredBytes += entry.uncompressedSize;
    if (declaredBytes > limits.maxTotalBytes) {
      throw new SrError(`refusing to extract ${zipPath}: it would unpack to more than ${limits.maxTotalBytes} bytes`);
    }
    outputs.add(outputPath);
    plan.push({ entry, entryName, relativePath, outputPath });
  }
  return plan;
}

/** Why a path inside an archive is unsafe to join onto a target folder, or undefined if it is fine. */
export function unsafeNameReason(name: string): string | undefined {
  if (name === '' || name === '/') return 'has an empty name';
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[a-zA-Z]:/.test(name)) return 'starts with a drive letter';
  if (name.split('/').includes('..')) return "climbs out of the target folder with '..'";
  return undefined;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** Zips made on Unix keep the file mode in the high 16 bits of the external attributes. */
function unsafeTypeReason(entry: yauzl.Entry): string | undefined {
  const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (type === 0 || type === S_IFREG || type === S_IFDIR) return undefined;
  return type === S_IFLNK ? 'is a symbolic link' : 'is a special file';
}

function isDirectoryEntry(entry: yauzl.Entry): boolean {
  return ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFDIR;
}

// yauzl 3 exports its name decoder, but @types/yauzl (written for 2.x) does not declare it, nor
// `fileNameRaw`. We decode names ourselves (decodeStrings: false) so that unsafe names reach our
// own checks and messages instead of being rewritten (backslashes) or rejected with yauzl's wording.
type RawEntry = yauzl.Entry & { fileNameRaw: Buffer };
const decodeFileName = (
  yauzl as unknown as {
    getFileNameLowLevel(flags: number, raw: Buffer, extraFields: yauzl.Entry['extraFields'], strict: boolean): string;
  }
).getFileNameLowLevel;

function entryNameOf(entry: yauzl.Entry): string {
  return decodeFileName(entry.generalPurposeBitFlag, (entry as RawEntry).fileNameRaw, entry.extraFields, true);
}

function openZip(zipPath: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (err, zip) =>
      err ? reject(new SrError(`cannot read zip ${zipPath}: ${err.message}`)) : resolve(zip),
    );
  });
}

function readAllEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (err: Error) => reject(new SrError(`corrupt zip: ${err.message}`)));
    zip.readEntry();
  });
}

function openEntryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

/** Writes one entry, never more than `budget` bytes; returns the bytes written. */
async function extractEntry(zip: yauzl.ZipFile, item: PlannedFile, budget: number, zipPath: string): Promise<number> {
  await fs.promises.mkdir(path.dirname(item.outputPath), { recursive: true });
  let written = 0;
  let crc = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      written += chunk.length;
      if (written > budget) {
        done(new SrError(`refusing to extract ${zipPath}: it unpacks to more than the size limit`));
        return;
      }
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
  });
  try {
    const source = await openEntryStream(zip, item.entry);
    // 'wx': never overwrite or follow something already at that path.
    await pipeline(source, guard, fs.createWriteStream(item.outputPath, { flags: 'wx' }));
  } catch (err) {
    if (err instanceof SrError) throw err;
    throw new SrError(`cannot extract '${item.entryName}' from ${zipPath}: ${(err as Error).message}`);
  }
  if (crc !== item.entry.crc32) {
    throw new SrError(`corrupt zip ${zipPath}: CRC-32 mismatch in '${item.entryName}'`);
  }
  return written;
}

// zlib.crc32 arrived in Node 20.15; older 20.x gets the table-driven version below.
const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
let crcTable: Uint32Array | undefined;

export function crc32(data: Uint8Array, previous = 0): number {
  if (nativeCrc32) return nativeCrc32(data, previous);
  crcTable ??= makeCrcTable();
  let crc = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
