/**
 * Model weights sr can download (so far the Keras VGG19 conv weights of the SRGAN content loss) and
 * their installer.
 *
 * Where they go: `<datasets root>/<name>/<file>` (SR_DATA_DIR, or datasets/ in the package), beside
 * the datasets rather than under a second root: one folder to configure, to list and to clean, and
 * `sr data download` already owns it. A test checks that no weights name is a dataset name, so
 * the folders never collide.
 *
 * Like a dataset, an entry is wholly there or absent: the file is downloaded (resumable,
 * checksummed) beside the target, checked by opening it as what it claims to be, moved into a
 * staging folder that is renamed into place, and only then is the completion marker written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { pipeline } from 'stream/promises';
import { SrError, UsageError } from '../core/errors';
import { readKerasWeights } from '../models/keras-h5';
import { KERAS_VGG19_NOTOP_FILE, VGG19_CONV_LAYERS, checkVgg19Weights } from '../models/vgg';
import { writeFileAtomic } from '../core/atomic';
import { downloadFile } from './download';
import { moveIntoPlace, prepareInstall, removePath, sha256File, tempPrefix } from '../core/fsutil';
import { MARKER_FILE, type ChecksumTrust, type DownloadInstallOptions } from './install';

/** What a downloaded weights file turned out to hold, recorded in the marker. */
export interface WeightsSummary {
  format: 'keras-h5';
  /** Layers with weights that sr uses. */
  layers: number;
  parameters: number;
  /** False when the structure is right but the widths are not the published ones (a narrow stand-in). */
  standardWidths: boolean;
}

export interface WeightsSpec {
  /** Registry key: `sr data download <name>`. */
  name: string;
  title: string;
  description: string;
  url: string;
  /** Name of the file inside `<root>/<name>/`. */
  fileName: string;
  /** SHA-256 published by someone other than us, or null: then --sha256 or --insecure-skip-checksum is needed. */
  sha256: string | null;
  sha256Source: string;
  /** An MD5 upstream publishes: too weak to install on, but reported as matching or not. */
  publishedMd5?: string;
  size?: { bytes: number; approximate: boolean };
  /** Opens the downloaded file as what it should be; throws an SrError when it is not. */
  verify(file: string): Promise<WeightsSummary>;
}

export const vgg19Weights: WeightsSpec = {
  name: 'vgg19',
  title: 'VGG19 (Keras Applications, no top)',
  description: 'Simonyan & Zisserman 2014, ImageNet: the 16 conv layers (block1_conv1 .. block5_conv4) for the VGG content loss',
  url: `https://storage.googleapis.com/tensorflow/keras-applications/vgg19/${KERAS_VGG19_NOTOP_FILE}`,
  fileName: KERAS_VGG19_NOTOP_FILE,
  sha256: null,
  sha256Source:
    'none published: keras/applications/vgg19.py pins only an MD5 (file_hash 253f8cb515780f3b799900260a226db6), and no project we searched pins a SHA-256',
  publishedMd5: '253f8cb515780f3b799900260a226db6',
  // The total Keras's own downloader prints for this URL ("80134624/80134624").
  size: { bytes: 80_134_624, approximate: false },
  async verify(file) {
    // Reading the values too (not only the shapes) proves the data itself is readable.
    const structure = checkVgg19Weights(await readKerasWeights(file, { layers: VGG19_CONV_LAYERS }));
    return {
      format: 'keras-h5',
      layers: VGG19_CONV_LAYERS.length,
      parameters: structure.parameters,
      standardWidths: structure.standardWidths,
    };
  },
};

export const WEIGHTS: readonly WeightsSpec[] = [vgg19Weights];

export function findWeights(name: string): WeightsSpec | undefined {
  const key = name.toLowerCase();
  return WEIGHTS.find((w) => w.name === key);
}

export function getWeights(name: string): WeightsSpec {
  const spec = findWeights(name);
  if (!spec) throw new UsageError(`unknown weights '${name}'; known weights: ${WEIGHTS.map((w) => w.name).join(', ')}`);
  return spec;
}

/** Written last into `<root>/<name>/`: its presence (with the file) is what "downloaded" means. */
export interface WeightsMarker extends WeightsSummary {
  name: string;
  kind: 'weights';
  url: string;
  /** File name inside the folder. */
  file: string;
  bytes: number;
  sha256: string;
  checksum: ChecksumTrust;
  md5: string;
  /** Whether md5 equals the spec's publishedMd5; null when upstream publishes none. */
  md5MatchesPublished: boolean | null;
  completedAt: string;
}

export interface WeightsStatus {
  spec: WeightsSpec;
  dir: string;
  file: string;
  marker: WeightsMarker | null;
}

export function weightsStatus(spec: WeightsSpec, root: string): WeightsStatus {
  const dir = path.join(root, spec.name);
  return { spec, dir, file: path.join(dir, spec.fileName), marker: readWeightsMarker(dir) };
}

/** The marker of a complete install, or null if absent, unreadable, of another kind, or its file is gone. */
export function readWeightsMarker(dir: string): WeightsMarker | null {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, MARKER_FILE), 'utf8')) as WeightsMarker;
    if (marker.kind !== 'weights' || typeof marker.sha256 !== 'string' || typeof marker.file !== 'string') return null;
    return fs.statSync(path.join(dir, marker.file)).size === marker.bytes ? marker : null;
  } catch {
    return null;
  }
}

export type WeightsInstallOptions = DownloadInstallOptions<'download' | 'verify'>;

export interface WeightsInstallResult {
  name: string;
  dir: string;
  file: string;
  alreadyPresent: boolean;
  marker: WeightsMarker;
}

export async function installWeights(spec: WeightsSpec, opts: WeightsInstallOptions): Promise<WeightsInstallResult> {
  const target = path.join(opts.root, spec.name);
  const existing = readWeightsMarker(target);
  if (existing && !opts.force) return resultFor(spec, target, existing, true);

  const checksum = chooseChecksum(spec, opts);
  const url = opts.url ?? spec.url;
  await prepareInstall(opts.root, spec.name, target, Boolean(existing));

  opts.onStage?.('download');
  const downloaded = await fetchFile(spec, url, checksum.sha256, opts);

  opts.onStage?.('verify');
  let summary: WeightsSummary;
  try {
    summary = await spec.verify(downloaded.path);
  } catch (err) {
    // It passed its checksum (if any) yet is not what it should be: keep nothing of it.
    await removePath(downloaded.path);
    if (!(err instanceof SrError)) throw err;
    throw new SrError(`${err.message.split(downloaded.path).join(url)} (the download was deleted; nothing was installed)`);
  }
  const md5 = await md5File(downloaded.path);
  const bytes = (await fs.promises.stat(downloaded.path)).size;

  const staging = path.join(opts.root, tempPrefix(spec.name) + randomBytes(6).toString('hex'));
  await fs.promises.mkdir(staging);
  try {
    await fs.promises.rename(downloaded.path, path.join(staging, spec.fileName));
    await moveIntoPlace(staging, target, spec.name, opts.root);
  } catch (err) {
    await removePath(staging);
    throw err;
  }
  const marker: WeightsMarker = {
    name: spec.name,
    kind: 'weights',
    url,
    file: spec.fileName,
    bytes,
    sha256: downloaded.sha256,
    checksum: checksum.trust,
    md5,
    md5MatchesPublished: spec.publishedMd5 ? md5 === spec.publishedMd5 : null,
    completedAt: new Date().toISOString(),
    ...summary,
  };
  await writeFileAtomic(path.join(target, MARKER_FILE), JSON.stringify(marker, null, 2) + '\n');
  return resultFor(spec, target, marker, false);
}

/** The same rule as for datasets: a hash given wins, then an explicit opt-out, then the published one. */
function chooseChecksum(spec: WeightsSpec, opts: WeightsInstallOptions): { sha256?: string; trust: ChecksumTrust } {
  if (opts.sha256) return { sha256: opts.sha256.toLowerCase(), trust: 'user-supplied' };
  if (opts.insecureSkipChecksum) return { trust: 'skipped' };
  if (spec.sha256) return { sha256: spec.sha256, trust: 'published' };
  const md5 = spec.publishedMd5 ? ` (upstream publishes only an MD5, ${spec.publishedMd5}, which sr reports but does not install on)` : '';
  throw new UsageError(
    `${spec.name} has no published SHA-256${md5}: pass --sha256 HEX (a hash you trust) or --insecure-skip-checksum to install it anyway`,
  );
}

async function fetchFile(
  spec: WeightsSpec,
  url: string,
  sha256: string | undefined,
  opts: WeightsInstallOptions,
): Promise<{ path: string; sha256: string }> {
  // The URL is part of the name so that a .part from one mirror is never resumed from another.
  const urlTag = createHash('sha256').update(url).digest('hex').slice(0, 12);
  const file = path.join(opts.root, `.sr-download-${spec.name}-${urlTag}${path.extname(spec.fileName)}`);
  if (sha256 && fs.existsSync(file) && (await sha256File(file)) === sha256) return { path: file, sha256 };
  const result = await downloadFile(url, file, {
    sha256,
    onProgress: opts.onDownloadProgress,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
    retries: opts.retries,
    retryDelayMs: opts.retryDelayMs,
  });
  return { path: result.path, sha256: result.sha256 };
}

async function md5File(file: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

function resultFor(spec: WeightsSpec, dir: string, marker: WeightsMarker, alreadyPresent: boolean): WeightsInstallResult {
  return { name: spec.name, dir, file: path.join(dir, marker.file), alreadyPresent, marker };
}
