/**
 * Atomic file writes: data goes to a temporary file in the same folder (same file system, so the
 * rename is atomic), is flushed to disk, then renamed over the target. A reader sees the old file or
 * the new one, never half of one, and an interrupted write leaves only a stray temp file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await writeAtomic(target, async (tmp) => {
    const handle = await fs.promises.open(tmp, 'w');
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  });
}

/**
 * The same for a writer that makes the file itself (e.g. an encoder streaming to disk, so a large
 * output is never held in memory): `write` creates `tmp`, which is then flushed and renamed.
 */
export async function writeAtomic(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await write(tmp);
    const handle = await fs.promises.open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(path.dirname(target));
}

/** Makes a rename durable across a power cut; not every file system allows it, which is fine. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await fs.promises.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* directories cannot be opened for sync on some platforms */
  }
}
