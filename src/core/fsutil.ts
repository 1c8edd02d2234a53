/** Small file-system helpers shared by the downloader, the zip extractor and the dataset installer. */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { pipeline } from 'stream/promises';
import { UsageError } from './errors';

/** SHA-256 of a file as lower-case hex, read as a stream so multi-gigabyte archives are fine. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** Size of a file in bytes, or 0 when it does not exist. */
export async function fileSizeOrZero(file: string): Promise<number> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Deletes a file or folder tree; a missing path is not an error. */
export async function removePath(p: string): Promise<void> {
  await fs.promises.rm(p, { recursive: true, force: true });
}

/** "1.5 MB"-style size for people (decimal units, like download pages use). */
export function humanBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Renames a staged folder onto its target. A complete older copy (--force) is moved aside first
 * and deleted after; were we killed in between, the target would lack its completion marker, which
 * reads as "absent", never as half an install.
 */
export async function moveIntoPlace(staging: string, target: string, name: string, root: string): Promise<void> {
  let previous: string | undefined;
  if (fs.existsSync(target)) {
    previous = path.join(root, `${tempPrefix(name)}old-${process.pid}-${Date.now()}`);
    await fs.promises.rename(target, previous);
  }
  await fs.promises.rename(staging, target);
  if (previous) await removePath(previous);
}

/** Names of staging and set-aside folders for an install of `name`, beside its target. */
export function tempPrefix(name: string): string {
  return `.sr-tmp-${name}-`;
}

/** Staging folders from runs that were killed; a .part download is kept for resuming. */
export async function removeLeftovers(root: string, name: string): Promise<void> {
  const prefix = tempPrefix(name);
  for (const entry of await fs.promises.readdir(root)) {
    if (entry.startsWith(prefix)) await removePath(path.join(root, entry));
  }
}

/**
 * Before an install: the root exists, staging folders of killed runs are gone, and an incomplete
 * target (no completion marker) is removed; a complete one stays until its replacement is ready.
 */
export async function prepareInstall(root: string, name: string, target: string, complete: boolean): Promise<void> {
  await fs.promises.mkdir(root, { recursive: true });
  await removeLeftovers(root, name);
  if (!complete) await removePath(target);
}

/** An output file's folder must exist: checked before long work, not found missing after it. */
export function checkOutputFile(file: string, flag: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new UsageError(`${flag} ${file}: folder ${path.dirname(file)} does not exist`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`${flag} ${file}: is a folder, expected a file name`);
}
