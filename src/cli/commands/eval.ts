/** `sr eval`: PSNR/SSIM of a model on a benchmark, scored the way published tables are. */
import * as fs from 'fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { backendSummary } from '../../runtime/tfjs';
import { resolveDataset } from '../../data/datasets';
import { UsageError } from '../../core/errors';
import {
  DEFAULT_METRICS,
  METRIC_CHANNELS,
  METRICS,
  parseMetricList,
  type MetricChannel,
  type MetricName,
  type MetricScores,
} from '../../metrics';
import { evaluate, type EvalResult } from '../../infer/evaluate';
import { writeFileAtomic } from '../../core/atomic';
import { formatTable, notice, outputMode, progressBar, style } from '../../core/terminal';
import {
  backendOptions,
  deviceOption,
  engineOption,
  parseScale,
  parseTile,
  parseTileSize,
  parseZoom,
  reportEngine,
  startBackend,
} from '../options';
import { checkOutputFile } from '../../core/fsutil';
import type { EngineChoice } from '../../infer/upscaler';
import { buildUpscaler } from '../../infer';
import { DEFAULT_ZOOM } from '../../report/crop';
import { EvalReportCollector } from '../../report/entry';
import { writeReport } from '../../report/html';
import { DEFAULT_TILE_PAD, type TileSize } from '../../infer/tile';
import { identifyModel, parseQueueUrl, scoreOverQueue } from '../../queue';
import type { ResolvedDataset } from '../../data/datasets';
import type { OutputMode } from '../../core/terminal';

interface EvalCliOptions {
  dataset: string;
  model: string;
  scale?: number;
  metricChannel: MetricChannel;
  metrics: MetricName[];
  json?: boolean;
  tile: TileSize;
  tilePad: number;
  ensemble?: boolean;
  csv?: string;
  saveImages?: string;
  report?: string;
  reportZoom: number;
  engine: EngineChoice;
  queue?: string;
  wait?: boolean;
}

/** NIQE joins the PSNR and SSIM columns when it was computed. */
const withNiqe = (result: EvalResult) => result.mean.niqe !== undefined;

export function resultCsv(result: EvalResult): string {
  const niqe = withNiqe(result);
  const line = (name: string, s: MetricScores) =>
    `${name},${s.psnr.toFixed(4)},${s.ssim.toFixed(6)}${niqe ? `,${s.niqe!.toFixed(4)}` : ''}`;
  const rows = [`image,psnr,ssim${niqe ? ',niqe' : ''}`, ...result.images.map((r) => line(r.name, r))];
  rows.push(line('mean', result.mean));
  return rows.join('\n') + '\n';
}

export function resultTable(result: EvalResult): string {
  const niqe = withNiqe(result);
  const cells = (s: MetricScores) => [s.psnr.toFixed(2), s.ssim.toFixed(4), ...(niqe ? [s.niqe!.toFixed(METRICS.niqe.digits)] : [])];
  const rows = result.images.map((r) => [r.name, ...cells(r)]);
  rows.push([style.bold('mean'), ...cells(result.mean).map((c) => style.bold(c))]);
  const title = `${result.dataset} x${result.scale}, ${result.model}, ${result.channel === 'y' ? 'Y channel' : 'RGB'}`;
  const head = ['image', METRICS.psnr.label, METRICS.ssim.label, ...(niqe ? [METRICS.niqe.label] : [])];
  return `${style.head(title)}\n${formatTable(head, rows, ['l', ...head.slice(1).map(() => 'r' as const)])}`;
}

function reportCollector(opts: EvalCliOptions, model: string, scale: number): EvalReportCollector | undefined {
  return opts.report
    ? new EvalReportCollector({ model, scale, channel: opts.metricChannel, zoom: opts.reportZoom, metrics: opts.metrics })
    : undefined;
}

/** The CSV, the HTML report and stdout of a finished eval, local or queued alike. */
async function writeResults(result: EvalResult, engine: string, opts: EvalCliOptions, mode: OutputMode, collector?: EvalReportCollector) {
  if (opts.csv) await writeFileAtomic(opts.csv, resultCsv(result));
  if (opts.report && collector) {
    await writeReport(opts.report, collector.report(result.dataset));
    notice(mode, `${style.ok('wrote')} ${opts.report}`);
  }
  process.stdout.write(opts.json ? JSON.stringify({ ...result, engine }) + '\n' : resultTable(result) + '\n');
}

/** `--queue URL --wait`: workers score the images; the outputs are those of a local run. */
async function evalOverQueue(dataset: ResolvedDataset, opts: EvalCliOptions, mode: OutputMode, cmd: Command): Promise<void> {
  const model = identifyModel(opts.model, opts.scale);
  // Only the report's crops are computed here; the scoring runs on the workers.
  if (opts.report) await startBackend(cmd);
  if (opts.saveImages) fs.mkdirSync(opts.saveImages, { recursive: true });
  const collector = reportCollector(opts, model.name, model.scale);
  const bar = progressBar(mode, 'eval', '{image}');
  bar.start(dataset.images.length, { image: '' });
  let scored;
  try {
    scored = await scoreOverQueue({
      ...opts,
      url: opts.queue!,
      datasetName: dataset.name,
      images: dataset.images,
      model,
      channel: opts.metricChannel,
      saveDir: opts.saveImages,
      mode,
      onImage: (r) => bar.increment({ image: r.name }),
      collector,
    });
  } finally {
    bar.stop();
  }
  await writeResults(scored.result, scored.engine, opts, mode, collector);
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('score a model on a dataset (modcrop, MATLAB bicubic LR, Y channel, border crop, PSNR/SSIM)')
    .requiredOption('--dataset <name|dir>', 'set5, set14, bsd100, urban100, div2k, or a folder of HR images')
    .option('--model <name|checkpoint>', 'bicubic, bilinear, nearest, a model name or a checkpoint folder', 'bicubic')
    .option('--scale <n>', "upscaling factor: 2, 3 or 4 (default: 4, or a checkpoint's own)", parseScale)
    .addOption(new Option('--metric-channel <channel>', 'score the Y channel or RGB').choices(METRIC_CHANNELS).default('y'))
    .option('--metrics <list>', 'what to report: psnr,ssim (default), niqe (no-reference, Y channel, same border)', parseMetricList, [
      ...DEFAULT_METRICS,
    ])
    .option(
      '--tile <n|auto>',
      'tile side in LR pixels to bound memory; 0: the whole image at once; auto: from free memory',
      parseTileSize,
      'auto' as TileSize,
    )
    .option('--tile-pad <n>', 'LR pixels of context around each tile', parseTile('--tile-pad'), DEFAULT_TILE_PAD)
    .option('--ensemble', 'average the 8 flips/rotations (self-ensemble)')
    .addOption(engineOption())
    .option('--json', 'print one JSON object on stdout')
    .option('--csv <file>', 'also write per-image scores as CSV')
    .option('--save-images <dir>', 'write the super-resolved images as PNG')
    .option('--report <file.html>', 'also write a self-contained HTML page: the scores, and crops of bicubic, the model and HR')
    .option('--report-zoom <n>', 'enlargement of the report crops (nearest neighbour)', parseZoom('--report-zoom'), DEFAULT_ZOOM)
    .option('--queue <url>', 'score on `sr worker`s through Redis (redis://host:port[/db]); needs --wait', parseQueueUrl)
    .option('--wait', 'with --queue: wait for the scores and print them as a local run does')
    .action(async (opts: EvalCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      if (opts.report) checkOutputFile(opts.report, '--report');
      if (opts.csv) checkOutputFile(opts.csv, '--csv');
      if (opts.queue && !opts.wait) throw new UsageError('--queue needs --wait: this command gathers the scores');
      if (opts.wait && !opts.queue) throw new UsageError('--wait goes with --queue');
      if (opts.queue && opts.report && !opts.saveImages)
        throw new UsageError(
          '--report with --queue needs --save-images DIR on storage the workers share (the crops are cut from those images)',
        );
      const dataset = await resolveDataset(opts.dataset);
      if (dataset.images.length === 0) throw new UsageError(`${dataset.hrDir}: no images found`);
      if (opts.queue) return evalOverQueue(dataset, opts, mode, cmd);
      const info = await startBackend(cmd);
      const upscaler = await buildUpscaler({ ...opts, threads: backendOptions(cmd).threads, device: deviceOption(cmd) });
      notice(mode, style.dim(`backend: ${backendSummary(info)}; engine: ${upscaler.engine?.description ?? 'tfjs'}`));
      reportEngine(mode, upscaler.engine, true);
      const collector = reportCollector(opts, upscaler.name, upscaler.scale);
      if (opts.saveImages) fs.mkdirSync(opts.saveImages, { recursive: true });
      const bar = progressBar(mode, 'eval', '{image}');
      bar.start(dataset.images.length, { image: '' });
      let result: EvalResult;
      try {
        result = await evaluate({
          datasetName: dataset.name,
          images: dataset.images,
          upscaler,
          channel: opts.metricChannel,
          metrics: opts.metrics,
          saveDir: opts.saveImages,
          onImage: (r) => bar.increment({ image: r.name }),
          onScored: collector ? (scored) => collector.add(scored) : undefined,
        });
      } finally {
        bar.stop();
        upscaler.dispose();
      }
      await writeResults(result, upscaler.engine?.active ?? 'tfjs', opts, mode, collector);
    });
}
