/** `sr upscale`: an image (or a folder of them) in, upscaled images out, each written atomically. */
import * as fs from 'fs';
import * as path from 'path';
import { Option, type Command } from 'commander';
import { listImages } from '../../data/datasets';
import { isDirectory } from '../../core/fsutil';
import { SrError, UsageError } from '../../core/errors';
import { formatFromPath, isImageFile, readImage, WRITABLE_FORMATS, type WritableFormat } from '../../image/io';
import { ALPHA_MODES, buildUpscaler, type AlphaMode, type Upscaler } from '../../infer';
import { notice, outputMode, progressBar, style, type OutputMode } from '../../core/terminal';
import {
  backendOptions,
  deviceOption,
  engineOption,
  numberParser,
  parseScale,
  parseTile,
  parseTileSize,
  reportEngine,
  startBackend,
} from '../options';
import { checkOutputFile } from '../../core/fsutil';
import type { EngineChoice } from '../../infer/upscaler';
import { DEFAULT_TILE_PAD, type TileSize } from '../../infer/tile';
import { displayUrl, identifyModel, parseQueueUrl, upscaleFile, upscaleOverQueue, type FolderResult, type PlannedFile } from '../../queue';

const FORMAT_EXTENSIONS: Record<WritableFormat, string> = { png: '.png', jpeg: '.jpg', webp: '.webp', tiff: '.tif' };

interface UpscaleCliOptions {
  output?: string;
  model: string;
  scale?: number;
  quality?: number;
  json?: boolean;
  tile: TileSize;
  tilePad: number;
  pattern?: string;
  suffix?: string;
  skipExisting?: boolean;
  ensemble?: boolean;
  outscale?: number;
  format?: WritableFormat;
  alpha: AlphaMode;
  engine: EngineChoice;
  queue?: string;
  wait?: boolean;
}

export function defaultOutputPath(input: string, scale: number): string {
  const ext = path.extname(input);
  return path.join(path.dirname(input), `${path.basename(input, ext)}_x${scale}.png`);
}

const parseQuality = numberParser('--quality', { integer: true, min: 1, max: 100, says: 'a whole number from 1 to 100' });

/** A shell-style name pattern (`*`, `?`) as a regular expression over file names. */
export function patternToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** The output folder of a folder run and each input's output in it, as local and queued runs name them (nothing made yet). */
function planFolder(dir: string, opts: UpscaleCliOptions, scale: number): { outDir: string; files: PlannedFile[] } {
  // A folder where a file was expected (e.g. `sr upscale shots.png -o big.png` with shots.png a
  // directory) is named as such rather than quietly turned into a folder of outputs.
  if (opts.output && isImageFile(opts.output)) {
    throw new SrError(`${dir}: is a directory, but -o ${opts.output} names an image file (for a folder, -o names the output folder)`);
  }
  const outDir = opts.output ?? `${dir.replace(/[\\/]+$/, '')}_x${scale}`;
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory())
    throw new UsageError(`${outDir} is a file; with a folder as input, -o names a folder`);
  const match = opts.pattern ? patternToRegExp(opts.pattern) : undefined;
  const inputs = listImages(dir).filter((f) => !match || match.test(path.basename(f)));
  // Checked before the output folder is made, so a mistyped pattern leaves nothing behind.
  if (inputs.length === 0) throw new UsageError(`${dir}: no images${opts.pattern ? ` matching '${opts.pattern}'` : ''}`);
  const suffix = opts.suffix ?? '';
  const files = inputs.map((input) => {
    const ext = path.extname(input);
    const outExt = opts.format ? FORMAT_EXTENSIONS[opts.format] : isWritable(ext) ? ext : '.png';
    return { input, output: path.join(outDir, `${path.basename(input, ext)}${suffix}${outExt}`) };
  });
  return { outDir, files };
}

/** `sr upscale DIR -o OUTDIR`: every matching image, past failures, with a summary at the end. */
async function upscaleFolder(dir: string, opts: UpscaleCliOptions, upscaler: Upscaler, mode: OutputMode): Promise<void> {
  const { outDir, files } = planFolder(dir, opts, upscaler.scale);
  fs.mkdirSync(outDir, { recursive: true });
  const result: FolderResult = { written: [], skipped: [], failed: [], engine: upscaler.engine?.active };
  const bar = progressBar(mode, 'upscale', '{file}');
  bar.start(files.length, { file: '' });
  for (const { input, output } of files) {
    bar.increment({ file: path.basename(input) });
    if (opts.skipExisting && fs.existsSync(output)) {
      result.skipped.push(input);
      continue;
    }
    try {
      result.written.push(await upscaleFile(input, output, upscaler, opts));
    } catch (err) {
      if (!(err instanceof SrError)) throw err;
      result.failed.push({ input, error: err.message });
    }
  }
  bar.stop();
  reportFolder(result, { model: upscaler.name, scale: upscaler.scale, outDir, total: files.length }, opts, mode);
}

/** The summary of a folder run (JSON or lines), and its exit status when images failed. */
function reportFolder(
  result: FolderResult,
  run: { model: string; scale: number; outDir: string; total: number },
  opts: UpscaleCliOptions,
  mode: OutputMode,
): void {
  const { written, skipped, failed } = result;
  if (opts.json)
    process.stdout.write(
      JSON.stringify({ model: run.model, scale: run.scale, engine: result.engine, outDir: run.outDir, written, skipped, failed }) + '\n',
    );
  else {
    notice(
      mode,
      `${style.ok('wrote')} ${written.length} image(s) to ${run.outDir}` + (skipped.length ? `, skipped ${skipped.length} existing` : ''),
    );
    for (const f of failed) notice(mode, style.err(`failed: ${f.error}`));
  }
  if (failed.length) throw new SrError(`${failed.length} of ${run.total} image(s) failed`);
}

/** `--queue URL`: the folder's images become jobs for `sr worker`s; with --wait, the same summary. */
async function upscaleFolderOverQueue(dir: string, opts: UpscaleCliOptions, mode: OutputMode): Promise<void> {
  const model = identifyModel(opts.model, opts.scale);
  const { outDir, files } = planFolder(dir, opts, model.scale);
  const queued = await upscaleOverQueue(files, model, opts, { url: opts.queue!, wait: Boolean(opts.wait), mode });
  if (queued.result) return reportFolder(queued.result, { model: model.name, scale: model.scale, outDir, total: files.length }, opts, mode);
  if (opts.json)
    process.stdout.write(
      JSON.stringify({ queue: displayUrl(opts.queue!), outDir, jobs: queued.jobs, skipped: queued.skipped, ...queued.counts }) + '\n',
    );
}

const parseOutscale = numberParser('--outscale', { above: 0, max: 16, says: 'a number above 0 and at most 16' });

/**
 * A bar over the tiles of one image pass (colour, then alpha with --alpha model: each pass starts
 * it afresh); silent when not on a terminal, and never shown for an image done whole.
 */
export function tileProgress(mode: OutputMode): { onTile: (done: number, total: number) => void; stop: () => void } {
  const bar = progressBar(mode, 'tiles');
  let running = false;
  return {
    onTile(done, total) {
      if (done === 1) {
        if (running) bar.stop();
        bar.start(total);
        running = true;
      }
      bar.update(done);
      if (done === total) {
        bar.stop();
        running = false;
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

function isWritable(ext: string): boolean {
  try {
    formatFromPath(`x${ext}`);
    return true;
  } catch {
    return false;
  }
}

export function register(program: Command): void {
  program
    .command('upscale')
    .description('upscale an image, or every image in a folder')
    .argument('<input>', 'image file (PNG, JPEG, WebP, TIFF) or a folder of them')
    .option(
      '-o, --output <path>',
      'output file (format from its extension; default <input>_x<scale>.png) or an existing folder to write that name into; for a folder input, the output folder (default <input>_x<scale>)',
    )
    .option('--model <name|checkpoint>', 'bicubic, bilinear, nearest, a model name or a checkpoint folder', 'bicubic')
    .option('--scale <n>', "upscaling factor: 2, 3 or 4 (default: 4, or a checkpoint's own)", parseScale)
    .option('--quality <q>', 'JPEG/WebP quality 1-100', parseQuality)
    .option(
      '--tile <n|auto>',
      'tile side in LR pixels to bound memory; 0: the whole image at once; auto: from free memory',
      parseTileSize,
      'auto' as TileSize,
    )
    .option('--tile-pad <n>', 'LR pixels of context around each tile', parseTile('--tile-pad'), DEFAULT_TILE_PAD)
    .addOption(new Option('--format <format>', 'output format, whatever the extension').choices([...WRITABLE_FORMATS]))
    .addOption(
      new Option('--alpha <mode>', 'how an alpha channel is upscaled: bicubic, or by the model like a gray image')
        .choices(ALPHA_MODES)
        .default('bicubic'),
    )
    .option('--outscale <f>', 'final scale: the model runs at its own, bicubic does the rest (e.g. 3.5)', parseOutscale)
    .option('--ensemble', 'average the 8 flips/rotations (self-ensemble; 8x slower, sharper)')
    .addOption(engineOption())
    .option('--pattern <glob>', "folder input: only names matching this pattern (e.g. '*.jpg')")
    .option('--suffix <text>', 'folder input: added to each output name before its extension', '')
    .option('--skip-existing', 'folder input: leave images whose output already exists')
    .option('--json', 'print a JSON summary on stdout')
    .option('--queue <url>', 'folder input: enqueue one job per image on Redis (redis://host:port[/db]) for `sr worker`s', parseQueueUrl)
    .option('--wait', 'with --queue: wait for the jobs and print the summary of a local run')
    .action(async (input: string, opts: UpscaleCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      const folder = isDirectory(input);
      if (opts.wait && !opts.queue) throw new UsageError('--wait goes with --queue');
      if (opts.queue) {
        if (!folder) throw new UsageError('--queue takes a folder of images (a single image runs here, without it)');
        return upscaleFolderOverQueue(input, opts, mode);
      }
      // -o naming an existing folder takes the default file name inside it (as Real-ESRGAN's -o does).
      const intoFolder = !folder && opts.output !== undefined && isDirectory(opts.output);
      // A bad output path or extension, or a bad image, fails before any model is loaded.
      if (!folder && opts.output && !intoFolder) {
        checkOutputFile(opts.output, '-o');
        if (!opts.format) formatFromPath(opts.output);
      }
      const image = folder ? undefined : await readImage(input);
      await startBackend(cmd);
      // Folders have their own bar over files; a single image gets one over its tiles.
      const tiles = folder ? undefined : tileProgress(mode);
      const upscaler = await buildUpscaler({
        ...opts,
        threads: backendOptions(cmd).threads,
        device: deviceOption(cmd),
        onTile: tiles?.onTile,
      });
      reportEngine(mode, upscaler.engine);
      try {
        if (folder) return await upscaleFolder(input, opts, upscaler, mode);
        const defaultOutput = defaultOutputPath(input, upscaler.scale).replace(
          /\.png$/,
          opts.format ? FORMAT_EXTENSIONS[opts.format] : '.png',
        );
        const output = intoFolder ? path.join(opts.output!, path.basename(defaultOutput)) : (opts.output ?? defaultOutput);
        const w = await upscaleFile(input, output, upscaler, opts, image);
        if (opts.json)
          process.stdout.write(
            JSON.stringify({ ...w, model: upscaler.name, scale: upscaler.scale, engine: upscaler.engine?.active }) + '\n',
          );
        else
          notice(
            mode,
            `${style.ok('wrote')} ${output} (${w.width}x${w.height}, ${upscaler.name} x${upscaler.scale}, ${upscaler.engine?.active ?? 'tfjs'}, ${w.seconds.toFixed(1)} s)`,
          );
      } finally {
        tiles?.stop();
        upscaler.dispose();
      }
    });
}
