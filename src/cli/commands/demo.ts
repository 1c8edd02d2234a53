/** `sr demo`: a photograph (or the test card) shrunk and upscaled back by every shipped method, scored and shown. */
import * as path from 'path';
import type { Command } from 'commander';
import { DEFAULT_SCALE, SHIPPED_MODELS } from '../../infer';
import { DEFAULT_CROP_SIZE, DEFAULT_ZOOM } from '../../report/crop';
import {
  CARD_SAMPLE,
  checkSampleSize,
  DEFAULT_DEMO_DIR,
  DEFAULT_SAMPLE,
  DEMO_METRICS,
  runDemo,
  SAMPLE_PHOTOS,
  SAMPLE_SIZE_RANGE,
  type DemoResult,
} from '../../report/demo';
import { METRICS } from '../../metrics';
import { metricCell } from '../../report/metric-text';
import { formatTable, notice, outputMode, progressBar, style } from '../../core/terminal';
import { parseScale, parseZoom, startBackend } from '../options';

interface DemoCliOptions {
  output: string;
  scale: number;
  zoom: number;
  sample?: string;
  size?: number;
  json?: boolean;
}

export function demoTable(result: DemoResult): string {
  const rows = result.results.map((r) => [r.label, ...DEMO_METRICS.map((name) => metricCell(name, r)), r.seconds.toFixed(2)]);
  const head = ['method', ...DEMO_METRICS.map((name) => METRICS[name].label), 'seconds'];
  const align = head.map((_, i) => (i === 0 ? 'l' : 'r') as 'l' | 'r');
  const title = `${path.basename(result.sample)}: ${result.hr.width}x${result.hr.height} from ${result.lr.width}x${result.lr.height}, x${result.scale}, Y channel`;
  return `${style.head(title)}\n${formatTable(head, rows, align)}`;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('shrink a photograph, upscale it back with bicubic and the shipped models, score and show them')
    .option('-o, --output <dir>', 'folder for grid.png and report.html', DEFAULT_DEMO_DIR)
    .option('--scale <n>', 'shrink and upscale factor: 2, 3 or 4', parseScale, DEFAULT_SCALE)
    .option('--zoom <n>', 'enlargement of the crops (nearest neighbour)', parseZoom('--zoom'), DEFAULT_ZOOM)
    .option(
      '--sample <name|image>',
      // No commander default: --size alone means the card, so "not given" must stay visible.
      `${Object.keys(SAMPLE_PHOTOS).join(', ')} (photographs in docs/samples/), ${CARD_SAMPLE} (the drawn test card) or an image file (default ${DEFAULT_SAMPLE})`,
    )
    .option('--size <n>', `draw the test card at n x n pixels (${SAMPLE_SIZE_RANGE.join(' to ')}) instead of 256`, (value: string) =>
      checkSampleSize(Number(value), '--size', value),
    )
    .option('--json', 'print the scores and the written files as one JSON object')
    .action(async (opts: DemoCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      await startBackend(cmd);
      const bar = progressBar(mode, 'demo', '{method}');
      bar.start(1 + SHIPPED_MODELS.length, { method: '' });
      let result: DemoResult;
      try {
        result = await runDemo({
          scale: opts.scale,
          outDir: opts.output,
          sample: opts.sample,
          sampleSize: opts.size,
          zoom: opts.zoom,
          cropSize: DEFAULT_CROP_SIZE,
          onMethod: (method) => bar.increment({ method }),
        });
      } finally {
        bar.stop();
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      for (const note of result.notes) notice(mode, style.warn(note));
      for (const s of result.skipped) notice(mode, style.dim(`skipped ${s.model}: ${s.reason}`));
      process.stdout.write(demoTable(result) + '\n');
      process.stdout.write(`grid:   ${result.grid}\nreport: ${result.report}\n`);
      if (!result.labelsRendered) notice(mode, style.warn('no font could draw the labels on this machine: the grid has none'));
    });
}
