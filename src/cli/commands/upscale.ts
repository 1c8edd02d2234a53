/** `sr upscale`: one image in, one upscaled image out (written atomically). */
import * as path from 'path';
import type { Command } from 'commander';
import { initBackend } from '../../backend';
import { UsageError } from '../../errors';
import { formatFromPath, readImage, writeImage } from '../../image/io';
import { loadUpscaler, upscaleImage } from '../../infer';
import { notice, outputMode, style } from '../output';
import { backendOptions, parseScale, parseTile } from '../shared';
import { DEFAULT_TILE_PAD, tiledUpscaler } from '../../infer/tile';

interface UpscaleCliOptions {
  output?: string;
  model: string;
  scale?: number;
  quality?: number;
  json?: boolean;
  tile: number;
  tilePad: number;
}

export function defaultOutputPath(input: string, scale: number): string {
  const ext = path.extname(input);
  return path.join(path.dirname(input), `${path.basename(input, ext)}_x${scale}.png`);
}

function parseQuality(value: string): number {
  const q = Number(value);
  if (!Number.isInteger(q) || q < 1 || q > 100) throw new UsageError(`--quality must be a whole number from 1 to 100, got '${value}'`);
  return q;
}

export function register(program: Command): void {
  program
    .command('upscale')
    .description('upscale an image')
    .argument('<input>', 'image file (PNG, JPEG, WebP, TIFF)')
    .option('-o, --output <file>', 'output file; format from its extension (default: <input>_x<scale>.png)')
    .option('--model <name|checkpoint>', 'bicubic, bilinear, nearest, a model name or a checkpoint folder', 'bicubic')
    .option('--scale <n>', "upscaling factor: 2, 3 or 4 (default: 4, or a checkpoint's own)", parseScale)
    .option('--quality <q>', 'JPEG/WebP quality 1-100', parseQuality)
    .option('--tile <n>', 'tile side in LR pixels to bound memory (0: automatic)', parseTile('--tile'), 0)
    .option('--tile-pad <n>', 'LR pixels of context around each tile', parseTile('--tile-pad'), DEFAULT_TILE_PAD)
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, opts: UpscaleCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      // A bad output extension fails before any work (the default output is always .png).
      const format = opts.output ? formatFromPath(opts.output) : 'png';
      const image = await readImage(input);
      await initBackend(backendOptions(cmd));
      const upscaler = tiledUpscaler(await loadUpscaler({ model: opts.model, scale: opts.scale }), { tile: opts.tile, pad: opts.tilePad });
      const output = opts.output ?? defaultOutputPath(input, upscaler.scale);
      const started = Date.now();
      let result;
      try {
        result = await upscaleImage(image, upscaler);
      } finally {
        upscaler.dispose();
      }
      await writeImage(output, result, { format, quality: opts.quality });
      const summary = {
        input,
        output,
        model: upscaler.name,
        scale: upscaler.scale,
        width: result.width,
        height: result.height,
        channels: result.channels,
        bitDepth: result.bitDepth,
        seconds: (Date.now() - started) / 1000,
      };
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else notice(mode, `${style.ok('wrote')} ${output} (${result.width}x${result.height}, ${upscaler.name} x${upscaler.scale}, ${summary.seconds.toFixed(1)} s)`);
    });
}
