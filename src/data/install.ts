/**
 * Installs a registry dataset under `<root>/<name>/HR/` so that it is either wholly there or not at
 * all: download (resumable, checksummed), extract into a temporary folder beside the target, check
 * the image count, rename into place, and only then write the completion marker. A folder without
 * the marker is treated as absent and removed by the next install.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { SrError, UsageError } from '../core/errors';
import { writeFileAtomic } from '../core/atomic';
import { extractZip, type ExtractLimits } from './archive';
import { downloadFile } from './download';
import { moveIntoPlace, prepareInstall, removePath, sha256File, tempPrefix } from '../core/fsutil';
import type { DatasetSpec } from './datasets/types';

export const MARKER_FILE = '.sr-complete.json';
export const HR_FOLDER = 'HR';

/** How the archive's integrity was established. */
export type ChecksumTrust = 'published' | 'user-supplied' | 'skipped';

/** Written last into `<root>/<name>/`: its presence is what "downloaded" means. */
export interface CompletionMarker {
  name: string;
  url: string;
  /** SHA-256 of the archive actually installed. */
  sha256: string;
  checksum: ChecksumTrust;
  completedAt: string;
  imageCount: number;
}

/** What installing anything downloaded (a dataset, a weights file) takes. */
export interface DownloadInstallOptions<Stage extends string> {
  /** Folder holding every dataset and weights file (see datasetsRoot()). */
  root: string;
  /** Download again even if complete; the old copy stays until the new one is ready. */
  force?: boolean;
  /** A mirror to fetch from instead of the registry's URL. */
  url?: string;
  /** SHA-256 to check instead of (or, for files without one, in place of) the published one. */
  sha256?: string;
  /** Install without any checksum; only honoured when asked for explicitly. */
  insecureSkipChecksum?: boolean;
  onDownloadProgress?: (received: number, total: number | undefined) => void;
  onStage?: (stage: Stage) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
  retries?: number;
  retryDelayMs?: number;
}

export interface InstallOptions extends DownloadInstallOptions<'download' | 'extract'> {
  limits?: Partial<ExtractLimits>;
}

export interface InstallResult {
  name: string;
  dir: string;
  hrDir: string;
  /** True when a complete copy was already there and nothing was downloaded. */
  alreadyPresent: boolean;
  marker: CompletionMarker;
}

export function datasetDir(root: string, name: string): string {
  return path.join(root, name);
}

/** The marker of a complete dataset, or null if the folder is absent, half-written or the marker unreadable. */
export function readCompletionMarker(dir: string): CompletionMarker | null {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, MARKER_FILE), 'utf8')) as CompletionMarker;
    return typeof marker.sha256 === 'string' && typeof marker.imageCount === 'number' ? marker : null;
  } catch {
    return null;
  }
}

export async function installDataset(spec: DatasetSpec, opts: InstallOptions): Promise<InstallResult> {
  const target = datasetDir(opts.root, spec.name);
  const existing = readCompletionMarker(target);
  if (existing && !opts.force) return resultFor(spec, target, existing, true);

  const checksum = chooseChecksum(spec, opts);
  const url = opts.url ?? spec.url;
  await prepareInstall(opts.root, spec.name, target, Boolean(existing));

  opts.onStage?.('download');
  const archive = await fetchArchive(spec, url, checksum.sha256, opts);

  opts.onStage?.('extract');
  // Not mkdtemp: its 0700 mode would stick to the dataset folder once renamed into place.
  const staging = path.join(opts.root, tempPrefix(spec.name) + randomBytes(6).toString('hex'));
  await fs.promises.mkdir(staging);
  let imageCount: number;
  try {
    imageCount = await extractHrImages(spec, archive.path, path.join(staging, HR_FOLDER), opts);
    await moveIntoPlace(staging, target, spec.name, opts.root);
  } catch (err) {
    await removePath(staging);
    // An archive that passed its checksum but not extraction is still bad: do not reuse it.
    await removePath(archive.path);
    throw err;
  }
  const marker: CompletionMarker = {
    name: spec.name,
    url,
    sha256: archive.sha256,
    checksum: checksum.trust,
    completedAt: new Date().toISOString(),
    imageCount,
  };
  await writeFileAtomic(path.join(target, MARKER_FILE), JSON.stringify(marker, null, 2) + '\n');
  await removePath(archive.path);
  return resultFor(spec, target, marker, false);
}

function chooseChecksum(spec: DatasetSpec, opts: InstallOptions): { sha256?: string; trust: ChecksumTrust } {
  if (opts.sha256) return { sha256: opts.sha256.toLowerCase(), trust: 'user-supplied' };
  if (opts.insecureSkipChecksum) return { trust: 'skipped' };
  // A mirror given without its own hash must still serve the very file upstream published.
  if (spec.sha256) return { sha256: spec.sha256, trust: 'published' };
  throw new UsageError(
    `${spec.name} has no published SHA-256: pass --sha256 HEX (a hash you trust) or --insecure-skip-checksum to install it anyway`,
  );
}

/** Downloads the archive, or reuses one a previous run fetched and verified but did not get to extract. */
async function fetchArchive(
  spec: DatasetSpec,
  url: string,
  sha256: string | undefined,
  opts: InstallOptions,
): Promise<{ path: string; sha256: string }> {
  // The URL is part of the name so a .part from one mirror is never resumed from another.
  const urlTag = createHash('sha256').update(url).digest('hex').slice(0, 12);
  const archivePath = path.join(opts.root, `.sr-download-${spec.name}-${urlTag}.zip`);
  if (sha256 && fs.existsSync(archivePath) && (await sha256File(archivePath)) === sha256) {
    return { path: archivePath, sha256 };
  }
  const result = await downloadFile(url, archivePath, {
    sha256,
    onProgress: opts.onDownloadProgress,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
    retries: opts.retries,
    retryDelayMs: opts.retryDelayMs,
  });
  return { path: result.path, sha256: result.sha256 };
}

async function extractHrImages(spec: DatasetSpec, archive: string, hrDir: string, opts: InstallOptions): Promise<number> {
  const { files } = await extractZip(archive, hrDir, {
    filter: (entry) => spec.hrImageName(entry) ?? false,
    limits: opts.limits,
    signal: opts.signal,
  });
  if (files.length !== spec.imageCount) {
    throw new SrError(
      `${spec.name}: the archive holds ${files.length} HR images where ${spec.imageCount} were expected; nothing was installed`,
    );
  }
  return files.length;
}

function resultFor(spec: DatasetSpec, dir: string, marker: CompletionMarker, alreadyPresent: boolean): InstallResult {
  return { name: spec.name, dir, hrDir: path.join(dir, HR_FOLDER), alreadyPresent, marker };
}
