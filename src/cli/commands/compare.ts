/** `sr compare HR A B ... -o grid.png`: one labelled crop grid of several results against HR. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../../core/errors';
import { formatFromPath } from '../../image/io';
import { DEFAULT_METRICS, METRIC_CHANNELS, METRICS, parseMetricList, type MetricChannel, type MetricName } from '../../metrics';
import { metricCell } from '../../report/metric-text';
import { compareImages } from '../../report/compare';
import { DEFAULT_CROP_SIZE, DEFAULT_ZOOM, type CropRect } from '../../report/crop';
import { writeOutput } from '../../report/html';
import { formatTable, notice, outputMode, style } from '../../core/terminal';
import { parseTile, parseZoom, positiveInteger, startBackend } from '../options';
import { checkOutputFile } from '../../core/fsutil';

interface CompareCliOptions {
  output: string;
  labels?: string[];
  crop?: CropRect;
  cropSize: number;
  zoom: number;
  border: number;
  metricChannel: MetricChannel;
  metrics: MetricName[];
  json?: boolean;
}

/** `x,y,w,h` in HR pixels. */
export function parseCrop(value: string): CropRect {
  const parts = value.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 4 || numbers.some((n) => !Number.isInteger(n) || n < 0) || numbers[2] < 1 || numbers[3] < 1) {
    throw new UsageError(`--crop must be x,y,width,height in whole pixels (e.g. 40,60,96,96), got '${value}'`);
  }
  const [x, y, width, height] = numbers;
  return { x, y, width, height };
}

function parseLabels(value: string): string[] {
  const labels = value.split(',').map((l) => l.trim());
  if (labels.some((l) => l === '')) throw new UsageError(`--labels must be comma-separated non-empty names, got '${value}'`);
  return labels;
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('a labelled grid of the same crop of HR and of other images, with PSNR/SSIM against HR')
    .argument('<hr>', 'the ground-truth image')
    .argument('<images...>', "images of HR's size to compare with it (e.g. outputs of sr upscale)")
    .requiredOption('-o, --output <grid.png>', 'the grid image to write (PNG)')
    .option('--labels <a,b,...>', "column labels: one per image, or one more with HR's first (default: file names)", parseLabels)
    .option('--crop <x,y,w,h>', 'the crop in HR pixels (default: where the images are furthest from HR)', parseCrop)
    .option('--crop-size <n>', 'side of the automatic crop in HR pixels', positiveInteger('--crop-size'), DEFAULT_CROP_SIZE)
    .option('--zoom <n>', 'enlargement of the crops (nearest neighbour)', parseZoom('--zoom'), DEFAULT_ZOOM)
    .option('--border <n>', 'pixels left out of the scores on each side (the scale, to match published tables)', parseTile('--border'), 0)
    .addOption(new Option('--metric-channel <channel>', 'score the Y channel or RGB').choices(METRIC_CHANNELS).default('y'))
    .option('--metrics <list>', 'psnr,ssim (default), niqe: no-reference, Y channel, HR scored too', parseMetricList, [...DEFAULT_METRICS])
    .option('--json', 'print the scores and the crop as one JSON object')
    .action(async (hr: string, images: string[], opts: CompareCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      if (formatFromPath(opts.output) !== 'png') throw new UsageError(`-o ${opts.output}: the grid is written as PNG; give a .png name`);
      checkOutputFile(opts.output, '-o');
      await startBackend(cmd);
      const result = await compareImages({
        hr,
        inputs: images,
        labels: opts.labels,
        crop: opts.crop,
        cropSize: opts.cropSize,
        zoom: opts.zoom,
        border: opts.border,
        channel: opts.metricChannel,
        metrics: opts.metrics,
      });
      await writeOutput(opts.output, result.grid.png);
      if (opts.json) {
        const { width, height, labelsRendered } = result.grid;
        process.stdout.write(
          JSON.stringify({
            output: opts.output,
            width,
            height,
            labelsRendered,
            crop: result.crop,
            zoom: result.zoom,
            hr,
            ...(result.hrNiqe === undefined ? {} : { hrNiqe: result.hrNiqe }),
            scores: result.scores,
          }) + '\n',
        );
        return;
      }
      const shown: MetricName[] = ['psnr', 'ssim', ...(result.hrNiqe === undefined ? [] : (['niqe'] as const))];
      const rows = result.scores.map((s) => [s.label, ...shown.map((m) => metricCell(m, s))]);
      if (result.hrNiqe !== undefined) rows.unshift([result.hrLabel, '-', '-', metricCell('niqe', { niqe: result.hrNiqe })]);
      const head = ['image', ...shown.map((m) => METRICS[m].label)];
      process.stdout.write(formatTable(head, rows, ['l', ...shown.map(() => 'r' as const)]) + '\n');
      const { x, y, width, height } = result.crop;
      notice(mode, `${style.ok('wrote')} ${opts.output} (crop ${width}x${height} at ${x},${y}, ${result.zoom}x)`);
      if (!result.grid.labelsRendered)
        notice(mode, style.warn('no font could draw the labels on this machine: the grid has none (install e.g. fonts-dejavu-core)'));
    });
}
