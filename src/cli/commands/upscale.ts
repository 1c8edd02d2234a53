/** `sr upscale`: an image (or a folder of them) in, upscaled images out, each written atomically. */
import * as fs from 'fs';
import * as path from 'path';
import { Option, type Command } from 'commander';
import { listImages } from '../../data/datasets';
import { isDirectory } from '../../core/fsutil';
import { SrError, UsageError } from '../../core/errors';
import { formatFromPath, isImageFile, readImage, writeImage, WRITABLE_FORMATS, type Image, type WritableFormat } from '../../image/io';
import { ALPHA_MODES, buildUpscaler, upscaleImage, type AlphaMode, type Upscaler } from '../../infer';
import { notice, outputMode, progressBar, style, type OutputMode } from '../../core/terminal';
import { backendOptions, engineOption, numberParser, parseScale, parseTile, parseTileSize, reportEngine, startBackend } from '../options';
import { checkOutputFile } from '../../core/fsutil';
import type { EngineChoice } from '../../infer/upscaler';
import { DEFAULT_TILE_PAD, type TileSize } from '../../infer/tile';

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

interface Written {
  input: string;
  output: string;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  seconds: number;
}

interface FileOptions {
  quality?: number;
  outscale?: number;
  format?: WritableFormat;
  alpha?: AlphaMode;
}

async function upscaleFile(input: string, output: string, upscaler: Upscaler, options: FileOptions, decoded?: Image): Promise<Written> {
  const started = Date.now();
  const image = decoded ?? (await readImage(input));
  const result = await upscaleImage(image, upscaler, { outscale: options.outscale, alpha: options.alpha });
  await writeImage(output, result, { format: options.format ?? formatFromPath(output), quality: options.quality });
  const { width, height, channels, bitDepth } = result;
  return { input, output, width, height, channels, bitDepth, seconds: (Date.now() - started) / 1000 };
}

/** `sr upscale DIR -o OUTDIR`: every matching image, past failures, with a summary at the end. */
async function upscaleFolder(dir: string, opts: UpscaleCliOptions, upscaler: Upscaler, mode: OutputMode): Promise<void> {
  // A folder where a file was expected (e.g. `sr upscale shots.png -o big.png` with shots.png a
  // directory) is named as such rather than quietly turned into a folder of outputs.
  if (opts.output && isImageFile(opts.output)) {
    throw new SrError(`${dir}: is a directory, but -o ${opts.output} names an image file (for a folder, -o names the output folder)`);
  }
  const outDir = opts.output ?? `${dir.replace(/[\\/]+$/, '')}_x${upscaler.scale}`;
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory())
    throw new UsageError(`${outDir} is a file; with a folder as input, -o names a folder`);
  const match = opts.pattern ? patternToRegExp(opts.pattern) : undefined;
  const files = listImages(dir).filter((f) => !match || match.test(path.basename(f)));
  // Checked before the output folder is made, so a mistyped pattern leaves nothing behind.
  if (files.length === 0) throw new UsageError(`${dir}: no images${opts.pattern ? ` matching '${opts.pattern}'` : ''}`);
  fs.mkdirSync(outDir, { recursive: true });
  const suffix = opts.suffix ?? '';
  const written: Written[] = [];
  const skipped: string[] = [];
  const failed: { input: string; error: string }[] = [];
  const bar = progressBar(mode, 'upscale', '{file}');
  bar.start(files.length, { file: '' });
  for (const input of files) {
    const ext = path.extname(input);
    const outExt = opts.format ? FORMAT_EXTENSIONS[opts.format] : isWritable(ext) ? ext : '.png';
    const output = path.join(outDir, `${path.basename(input, ext)}${suffix}${outExt}`);
    bar.increment({ file: path.basename(input) });
    if (opts.skipExisting && fs.existsSync(output)) {
      skipped.push(input);
      continue;
    }
    try {
      written.push(await upscaleFile(input, output, upscaler, opts));
    } catch (err) {
      if (!(err instanceof SrError)) throw err;
      failed.push({ input, error: err.message });
    }
  }
  bar.stop();
  if (opts.json)
    process.stdout.write(
      JSON.stringify({ model: upscaler.name, scale: upscaler.scale, engine: upscaler.engine?.active, outDir, written, skipped, failed }) +
        '\n',
    );
  else {
    notice(
      mode,
      `${style.ok('wrote')} ${written.length} image(s) to ${outDir}` + (skipped.length ? `, skipped ${skipped.length} existing` : ''),
    );
    for (const f of failed) notice(mode, style.err(`failed: ${f.error}`));
  }
  if (failed.length) throw new SrError(`${failed.length} of ${files.length} image(s) failed`);
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
    .action(async (input: string, opts: UpscaleCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      const folder = isDirectory(input);
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
      const upscaler = await buildUpscaler({ ...opts, threads: backendOptions(cmd).threads, onTile: tiles?.onTile });
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
