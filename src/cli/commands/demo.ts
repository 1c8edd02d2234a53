/** `sr demo`: the sample picture shrunk and upscaled back by every shipped method, scored and shown. */
import type { Command } from 'commander';
import { DEFAULT_SCALE, SHIPPED_MODELS } from '../../infer';
import { DEFAULT_CROP_SIZE, DEFAULT_ZOOM } from '../../report/crop';
import { checkSampleSize, DEFAULT_DEMO_DIR, runDemo, SAMPLE_SIZE_RANGE, type DemoResult } from '../../report/demo';
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
  const rows = result.results.map((r) => [r.label, r.psnr.toFixed(2), r.ssim.toFixed(4), r.seconds.toFixed(2)]);
  const title = `sample ${result.hr.width}x${result.hr.height} from ${result.lr.width}x${result.lr.height}, x${result.scale}, Y channel`;
  return `${style.head(title)}\n${formatTable(['method', 'PSNR (dB)', 'SSIM', 'seconds'], rows, ['l', 'r', 'r', 'r'])}`;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('shrink the sample picture, upscale it back with bicubic and the shipped models, score and show them')
    .option('-o, --output <dir>', 'folder for grid.png and report.html', DEFAULT_DEMO_DIR)
    .option('--scale <n>', 'shrink and upscale factor: 2, 3 or 4', parseScale, DEFAULT_SCALE)
    .option('--zoom <n>', 'enlargement of the crops (nearest neighbour)', parseZoom('--zoom'), DEFAULT_ZOOM)
    .option('--sample <image>', 'another picture to use instead of docs/sample.png')
    .option(
      '--size <n>',
      `draw the sample picture at n x n pixels (${SAMPLE_SIZE_RANGE.join(' to ')}) instead of docs/sample.png's 256`,
      (value: string) => checkSampleSize(Number(value), '--size', value),
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
      for (const s of result.skipped) notice(mode, style.dim(`skipped ${s.model}: ${s.reason}`));
      process.stdout.write(demoTable(result) + '\n');
      process.stdout.write(`grid:   ${result.grid}\nreport: ${result.report}\n`);
      if (!result.labelsRendered) notice(mode, style.warn('no font could draw the labels on this machine: the grid has none'));
    });
}
