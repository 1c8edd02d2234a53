/**
 * Exports are cached: a checkpoint's ONNX model is built once and kept as `<checkpoint>/model.onnx`,
 * or, where the checkpoint folder is read-only, under the user's cache folder, or else only in
 * memory. The cache key (stored in the model's metadata) hashes the exporter's revision and the
 * SHA-256 of the checkpoint's network and meta files from its MANIFEST, so new weights (or a new
 * exporter) mean a new export.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SrError } from '../../core/errors';
import { MANIFEST } from '../../checkpoint';
import { writeFileAtomic } from '../../core/atomic';
import { readOnnxMetadata } from './export';

/** Bumped whenever the exporter's output for the same weights changes. */
export const EXPORT_REVISION = 3;
export const CACHE_KEY_PROP = 'sr.cache_key';
export const CACHE_FILE = 'model.onnx';

/** The checkpoint files an export depends on. */
const EXPORTED_FILES = ['model.json', 'weights.bin', 'meta.json'];

export function checkpointExportKey(dir: string): string {
  let entries: { file: string; sha256: string }[];
  try {
    entries = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')).files;
  } catch {
    throw new SrError(`checkpoint ${dir}: ${MANIFEST} is missing or not valid JSON`);
  }
  const hash = createHash('sha256').update(`sr-onnx-export/${EXPORT_REVISION}\n`);
  for (const name of EXPORTED_FILES) {
    const entry = entries.find((e) => e.file === name);
    hash.update(`${name} ${entry?.sha256 ?? '-'}\n`);
  }
  return hash.digest('hex');
}

/** `$SR_CACHE_DIR`, else `$XDG_CACHE_HOME/sr`, else `~/.cache/sr`. */
export function userCacheDir(): string {
  if (process.env.SR_CACHE_DIR) return process.env.SR_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'sr');
}

export interface CachedExport {
  bytes: Uint8Array;
  /** Where the export is kept, or null when it lives in memory only. */
  path: string | null;
  /** True when it was exported now rather than read from the cache. */
  rebuilt: boolean;
}

function candidates(dir: string, key: string): string[] {
  return [path.join(dir, CACHE_FILE), path.join(userCacheDir(), 'onnx', `${key}.onnx`)];
}

function readIfCurrent(file: string, key: string): Uint8Array | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  // A stale, foreign or truncated file does not decode to our key: it is rebuilt over.
  return readOnnxMetadata(bytes)?.[CACHE_KEY_PROP] === key ? bytes : undefined;
}

async function tryWrite(file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * The checkpoint's export from the first cache place holding the current key, else `build(key)`
 * (which must store `key` under CACHE_KEY_PROP) written to the first place that takes it.
 */
export async function cachedExport(dir: string, build: (key: string) => Promise<Uint8Array>): Promise<CachedExport> {
  const key = checkpointExportKey(dir);
  const places = candidates(dir, key);
  for (const file of places) {
    const bytes = readIfCurrent(file, key);
    if (bytes) return { bytes, path: file, rebuilt: false };
  }
  const bytes = await build(key);
  for (const file of places) if (await tryWrite(file, bytes)) return { bytes, path: file, rebuilt: true };
  return { bytes, path: null, rebuilt: true };
}
