/** `sr data list` and `sr data download NAME`: the benchmark sets sr knows how to fetch. */
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { DATASETS, datasetStatus, datasetsRoot, getDataset, type DatasetSpec, type DatasetStatus } from '../../data/datasets';
import { humanBytes } from '../../data/fsutil';
import { installDataset, type InstallResult } from '../../data/install';
import { formatTable, notice, outputMode, progressBar, style, type OutputMode, type Progress } from '../output';
import type { GlobalOptions } from '../main';

interface ListOptions {
  json?: boolean;
}

interface DownloadOptions {
  json?: boolean;
  force?: boolean;
  url?: string;
  sha256?: string;
  insecureSkipChecksum?: boolean;
  timeout?: number;
}

export function register(program: Command): void {
  const data = program
    .command('data')
    .description('list and download the benchmark datasets (Set5, Set14, BSD100, Urban100, DIV2K)');

  data
    .command('list')
    .description('show the known datasets, where they come from and whether they are downloaded')
    .option('--json', 'print a JSON array')
    .action((opts: ListOptions) => listDatasets(opts));

  data
    .command('download')
    .description('download a dataset into the datasets folder (SR_DATA_DIR or datasets/ in the package)')
    .argument('<name>', `one of: ${DATASETS.map((d) => d.name).join(', ')}`)
    .option('--force', 'download again even if already complete')
    .option('--json', 'print one JSON object when done')
    .option('--url <url>', 'fetch from this mirror instead of the upstream URL')
    .option('--sha256 <hex>', 'SHA-256 the archive must have (needed for sets without a published one)')
    .option('--insecure-skip-checksum', 'install without checking the archive against any SHA-256')
    .option('--timeout <seconds>', 'give up on a connection silent this long (default 30)', parseSeconds)
    .action(async (name: string, opts: DownloadOptions, cmd: Command) => downloadDataset(name, opts, cmd));
}

function listDatasets(opts: ListOptions): void {
  const root = datasetsRoot();
  const statuses = DATASETS.map((spec) => datasetStatus(spec, root));
  if (opts.json) {
    process.stdout.write(JSON.stringify(statuses.map(statusJson)) + '\n');
    return;
  }
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
    ...DATASETS.map((spec) => `${spec.name.padEnd(9)} ${spec.url}`),
  ];
  const unknown = DATASETS.filter((spec) => !spec.sha256).map((spec) => spec.name);
  if (unknown.length > 0) {
    lines.push(
      '',
      style.warn(`no published SHA-256 for ${unknown.join(', ')}:`) +
        ' `sr data download` needs --sha256 HEX (a hash you trust) or --insecure-skip-checksum for these.',
    );
  }
  lines.push(style.dim(`datasets folder: ${root}`));
  process.stdout.write(lines.join('\n') + '\n');
}

function statusJson(status: DatasetStatus) {
  const { spec, marker } = status;
  return {
    name: spec.name,
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

async function downloadDataset(name: string, opts: DownloadOptions, cmd: Command): Promise<void> {
  const spec = getDataset(name);
  checkDownloadOptions(opts);
  const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals<GlobalOptions>().verbose });
  const bar = progressBar(mode, spec.name, '{size}');
  const cancel = new AbortController();
  const onInterrupt = () => cancel.abort();
  process.once('SIGINT', onInterrupt);
  let result: InstallResult;
  try {
    result = await installDataset(spec, {
      root: datasetsRoot(),
      force: opts.force,
      url: opts.url,
      sha256: opts.sha256,
      insecureSkipChecksum: opts.insecureSkipChecksum,
      timeoutMs: opts.timeout !== undefined ? opts.timeout * 1000 : undefined,
      signal: cancel.signal,
      onDownloadProgress: downloadProgress(bar),
      // Stage lines only at a terminal: piped, stderr carries nothing but the one-line error, if any.
      onStage: (stage) => {
        if (stage === 'extract') bar.stop();
        const what = stage === 'download' ? `downloading ${opts.url ?? spec.url}` : 'extracting HR images';
        if (mode.interactive) notice(mode, `${spec.name}: ${what}`);
      },
    });
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onInterrupt);
  }
  reportInstalled(result, mode);
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

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, got '${value}'`);
  }
  return seconds;
}
