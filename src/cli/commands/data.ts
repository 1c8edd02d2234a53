/**
 * `sr data list` and `sr data download NAME`: the benchmark sets sr knows how to fetch, and the
 * model weights (VGG19 for the content loss), which live in the same folder (see data/weights.ts).
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors';
import {
  DATASETS,
  datasetStatus,
  datasetsRoot,
  findDataset,
  getDatasetSplit,
  type DatasetSpec,
  type DatasetStatus,
} from '../../data/datasets';
import { humanBytes } from '../../core/fsutil';
import { installDataset, type DownloadInstallOptions, type InstallResult } from '../../data/install';
import {
  WEIGHTS,
  findWeights,
  installWeights,
  weightsStatus,
  type WeightsInstallResult,
  type WeightsSpec,
  type WeightsStatus,
} from '../../data/weights';
import { formatTable, notice, outputMode, progressBar, style, type OutputMode, type Progress } from '../../core/terminal';
import { numberParser, type GlobalOptions } from '../options';

interface ListOptions {
  json?: boolean;
  weights?: boolean;
}

interface DownloadOptions {
  json?: boolean;
  force?: boolean;
  url?: string;
  sha256?: string;
  insecureSkipChecksum?: boolean;
  timeout?: number;
  split?: string;
}

export function register(program: Command): void {
  const data = program
    .command('data')
    .description('list and download the benchmark datasets (Set5, Set14, BSD100, Urban100, DIV2K) and the VGG19 weights');

  data
    .command('list')
    .description('show the known datasets and weights, where they come from and whether they are downloaded')
    .option('--json', 'print a JSON array (of the datasets; with --weights, of the weights)')
    .option('--weights', 'list only the model weights')
    .action((opts: ListOptions) => (opts.weights ? listWeights(opts) : listDatasets(opts)));

  data
    .command('download')
    .description('download a dataset or weights into the datasets folder (SR_DATA_DIR or datasets/ in the package)')
    .argument('<name>', `a dataset (${DATASETS.map((d) => d.name).join(', ')}) or weights (${WEIGHTS.map((w) => w.name).join(', ')})`)
    .option('--split <split>', 'for div2k: train (800 images) or valid (100, the default)')
    .option('--force', 'download again even if already complete')
    .option('--json', 'print one JSON object when done')
    .option('--url <url>', 'fetch from this mirror instead of the upstream URL')
    .option('--sha256 <hex>', 'SHA-256 the file must have (needed for those without a published one)')
    .option('--insecure-skip-checksum', 'install without checking the archive against any SHA-256')
    .option('--timeout <seconds>', 'give up on a connection silent this long (default 30)', parseSeconds)
    .action(async (name: string, opts: DownloadOptions, cmd: Command) => download(name, opts, cmd));
}

async function download(name: string, opts: DownloadOptions, cmd: Command): Promise<void> {
  if (opts.split !== undefined) return downloadDataset(getDatasetSplit(name, opts.split), opts, cmd);
  const dataset = findDataset(name);
  if (dataset) return downloadDataset(dataset, opts, cmd);
  const weights = findWeights(name);
  if (weights) return downloadWeights(weights, opts, cmd);
  throw new UsageError(
    `unknown dataset '${name}'; known datasets: ${DATASETS.map((d) => d.name).join(', ')}; weights: ${WEIGHTS.map((w) => w.name).join(', ')}`,
  );
}

function listDatasets(opts: ListOptions): void {
  const root = datasetsRoot();
  const statuses = DATASETS.map((spec) => datasetStatus(spec, root));
  if (opts.json) {
    process.stdout.write(JSON.stringify(statuses.map(statusJson)) + '\n');
    return;
  }
  const nameWidth = Math.max(...DATASETS.map((spec) => spec.name.length)) + 1;
  // Plain cells: formatTable pads by string length, which colour codes would throw off.
  const rows = statuses.map((s) => [
    s.spec.name,
    String(s.spec.imageCount),
    sizeText(s.spec),
    s.spec.sha256 ? 'published' : 'unknown',
    s.marker ? `yes: ${s.hrDir}` : 'no',
  ]);
  const lines = [
    formatTable(['name', 'images', 'archive', 'sha256', 'downloaded'], rows, ['l', 'r', 'r', 'l', 'l']),
    '',
    style.head('sources'),
    ...DATASETS.map((spec) => `${spec.name.padEnd(nameWidth)} ${spec.url}`),
  ];
  const unknown = DATASETS.filter((spec) => !spec.sha256).map((spec) => spec.name);
  if (unknown.length > 0) {
    lines.push(
      '',
      style.warn(`no published SHA-256 for ${unknown.join(', ')}:`) +
        ' `sr data download` needs --sha256 HEX (a hash you trust) or --insecure-skip-checksum for these.',
    );
  }
  lines.push('', style.head('weights'), weightsTable(WEIGHTS.map((spec) => weightsStatus(spec, root))));
  lines.push(style.dim(`datasets folder: ${root}`));
  process.stdout.write(lines.join('\n') + '\n');
}

function listWeights(opts: ListOptions): void {
  const root = datasetsRoot();
  const statuses = WEIGHTS.map((spec) => weightsStatus(spec, root));
  if (opts.json) {
    process.stdout.write(JSON.stringify(statuses.map(weightsStatusJson)) + '\n');
    return;
  }
  process.stdout.write([weightsTable(statuses), style.dim(`datasets folder: ${root}`)].join('\n') + '\n');
}

/** One row per weights entry, its source, and the checksum caveat when upstream publishes no SHA-256. */
function weightsTable(statuses: WeightsStatus[]): string {
  const rows = statuses.map((s) => [
    s.spec.name,
    'weights',
    s.spec.size ? (s.spec.size.approximate ? '~' : '') + humanBytes(s.spec.size.bytes) : '?',
    s.spec.sha256 ? 'published' : 'unknown',
    s.marker ? `yes: ${s.file}` : 'no',
  ]);
  const lines = [
    formatTable(['name', 'kind', 'file', 'sha256', 'downloaded'], rows, ['l', 'l', 'r', 'l', 'l']),
    ...statuses.map((s) => `${s.spec.name.padEnd(9)} ${s.spec.url}`),
  ];
  const unknown = statuses.filter((s) => !s.spec.sha256).map((s) => s.spec.name);
  if (unknown.length > 0) {
    lines.push(
      style.warn(`no published SHA-256 for ${unknown.join(', ')}:`) +
        ' `sr data download` needs --sha256 HEX or --insecure-skip-checksum (it reports whether the MD5 matches the one upstream publishes).',
    );
  }
  return lines.join('\n');
}

function weightsStatusJson(status: WeightsStatus) {
  const { spec, marker } = status;
  return {
    name: spec.name,
    kind: 'weights',
    title: spec.title,
    description: spec.description,
    url: spec.url,
    sha256: spec.sha256,
    sha256Source: spec.sha256Source,
    publishedMd5: spec.publishedMd5 ?? null,
    fileBytes: spec.size?.bytes ?? null,
    fileBytesApproximate: spec.size?.approximate ?? null,
    downloaded: marker !== null,
    dir: status.dir,
    file: status.file,
    installed: marker,
  };
}

function statusJson(status: DatasetStatus) {
  const { spec, marker } = status;
  return {
    name: spec.name,
    kind: 'dataset',
    title: spec.title,
    description: spec.description,
    url: spec.url,
    sha256: spec.sha256,
    sha256Source: spec.sha256Source,
    archiveBytes: spec.archiveSize?.bytes ?? null,
    archiveBytesApproximate: spec.archiveSize?.approximate ?? null,
    imageCount: spec.imageCount,
    downloaded: marker !== null,
    dir: status.dir,
    hrDir: status.hrDir,
    installed: marker,
  };
}

function sizeText(spec: DatasetSpec): string {
  if (!spec.archiveSize) return '?';
  return (spec.archiveSize.approximate ? '~' : '') + humanBytes(spec.archiveSize.bytes);
}

/** What every download shares: options, a progress bar, Ctrl-C cancelling cleanly. */
type SharedInstallOptions = Omit<DownloadInstallOptions<string>, 'onStage'>;

async function withDownloadUi<R>(
  name: string,
  url: string,
  opts: DownloadOptions,
  cmd: Command,
  afterDownload: string,
  install: (shared: SharedInstallOptions, onStage: (stage: string) => void) => Promise<R>,
): Promise<{ result: R; mode: OutputMode }> {
  checkDownloadOptions(opts);
  const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals<GlobalOptions>().verbose });
  const bar = progressBar(mode, name, '{size}');
  const cancel = new AbortController();
  const onInterrupt = () => cancel.abort();
  process.once('SIGINT', onInterrupt);
  try {
    const shared: SharedInstallOptions = {
      root: datasetsRoot(),
      force: opts.force,
      url: opts.url,
      sha256: opts.sha256,
      insecureSkipChecksum: opts.insecureSkipChecksum,
      timeoutMs: opts.timeout !== undefined ? opts.timeout * 1000 : undefined,
      signal: cancel.signal,
      onDownloadProgress: downloadProgress(bar),
    };
    // Stage lines only at a terminal: piped, stderr carries nothing but the one-line error, if any.
    const onStage = (stage: string) => {
      if (stage !== 'download') bar.stop();
      if (mode.interactive) notice(mode, `${name}: ${stage === 'download' ? `downloading ${opts.url ?? url}` : afterDownload}`);
    };
    return { result: await install(shared, onStage), mode };
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onInterrupt);
  }
}

async function downloadDataset(spec: DatasetSpec, opts: DownloadOptions, cmd: Command): Promise<void> {
  const { result, mode } = await withDownloadUi(spec.name, spec.url, opts, cmd, 'extracting HR images', (shared, onStage) =>
    installDataset(spec, { ...shared, onStage }),
  );
  reportInstalled(result, mode);
}

async function downloadWeights(spec: WeightsSpec, opts: DownloadOptions, cmd: Command): Promise<void> {
  const { result, mode } = await withDownloadUi(spec.name, spec.url, opts, cmd, 'checking the weights file', (shared, onStage) =>
    installWeights(spec, { ...shared, onStage }),
  );
  reportWeightsInstalled(result, mode);
}

function reportWeightsInstalled(result: WeightsInstallResult, mode: OutputMode): void {
  const { marker } = result;
  if (mode.json) {
    process.stdout.write(
      JSON.stringify({
        name: result.name,
        kind: 'weights',
        dir: result.dir,
        file: result.file,
        alreadyPresent: result.alreadyPresent,
        url: marker.url,
        bytes: marker.bytes,
        sha256: marker.sha256,
        checksum: marker.checksum,
        md5: marker.md5,
        md5MatchesPublished: marker.md5MatchesPublished,
        layers: marker.layers,
        parameters: marker.parameters,
        standardWidths: marker.standardWidths,
        completedAt: marker.completedAt,
      }) + '\n',
    );
    return;
  }
  if (!result.alreadyPresent) {
    if (marker.checksum === 'skipped') {
      notice(mode, style.warn(`warning: installed without a SHA-256 check; the file's sha256 is ${marker.sha256}`));
    }
    if (marker.md5MatchesPublished === false) {
      notice(mode, style.warn(`warning: its MD5 ${marker.md5} is not the one upstream publishes`));
    }
    if (!marker.standardWidths) notice(mode, style.warn('warning: VGG19 structure, but not the published layer widths'));
  }
  const already = result.alreadyPresent ? ' (already downloaded; --force fetches it again)' : '';
  const params = marker.parameters.toLocaleString('en-US');
  process.stdout.write(`${result.name}: ${marker.layers} conv layers, ${params} parameters in ${result.file}${already}\n`);
}

function checkDownloadOptions(opts: DownloadOptions): void {
  if (opts.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(opts.sha256)) {
    throw new UsageError(`--sha256 must be 64 hex digits, got '${opts.sha256}'`);
  }
  if (opts.sha256 && opts.insecureSkipChecksum) {
    throw new UsageError('--sha256 and --insecure-skip-checksum contradict each other; give one');
  }
  if (opts.url !== undefined && !/^https?:\/\/./i.test(opts.url)) {
    throw new UsageError(`--url must be an http:// or https:// address, got '${opts.url}'`);
  }
}

/** Feeds byte counts to the bar, starting it on the first report (when the total becomes known). */
function downloadProgress(bar: Progress): (received: number, total: number | undefined) => void {
  let started = false;
  return (received, total) => {
    const size = { size: total === undefined ? humanBytes(received) : `${humanBytes(received)} / ${humanBytes(total)}` };
    if (!started) {
      bar.start(total ?? 0, size);
      started = true;
    }
    bar.update(received, size);
  };
}

function reportInstalled(result: InstallResult, mode: OutputMode): void {
  const { marker } = result;
  if (mode.json) {
    process.stdout.write(
      JSON.stringify({
        name: result.name,
        dir: result.dir,
        hrDir: result.hrDir,
        imageCount: marker.imageCount,
        alreadyPresent: result.alreadyPresent,
        url: marker.url,
        sha256: marker.sha256,
        checksum: marker.checksum,
        completedAt: marker.completedAt,
      }) + '\n',
    );
    return;
  }
  if (marker.checksum === 'skipped' && !result.alreadyPresent) {
    notice(mode, style.warn(`warning: installed without a checksum check; the archive's sha256 was ${marker.sha256}`));
  }
  const already = result.alreadyPresent ? ' (already downloaded; --force fetches it again)' : '';
  process.stdout.write(`${result.name}: ${marker.imageCount} HR images in ${result.hrDir}${already}\n`);
}

const parseSeconds = numberParser('--timeout', { above: 0, says: 'a positive number of seconds' });
