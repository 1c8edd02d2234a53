/**
 * Temporary files a killed worker left beside an output. Atomic writes go through
 * `.NAME.PID.RANDOM.tmp` (core/atomic) and are renamed over NAME; a worker killed before the
 * rename leaves its temporary file behind, which the worker that takes the job over removes.
 */
import * as fs from 'fs';
import * as path from 'path';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Removes the leftover temporary files of `target`; a missing folder is nothing to clean. */
export async function removeStaleTempFiles(target: string): Promise<void> {
  const dir = path.dirname(target);
  const leftover = new RegExp(`^\\.${escapeRegExp(path.basename(target))}\\.\\d+\\.[0-9a-f]+\\.tmp$`);
  const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => leftover.test(n))) await fs.promises.rm(path.join(dir, name), { force: true });
}
