/** `sr export`: a network (shipped weights or a checkpoint) as an ONNX file. */
import type { Command } from 'commander';
import { exportModel } from '../../infer/export';
import { notice, outputMode, style } from '../../core/terminal';
import { parseScale, startBackend } from '../options';

interface ExportCliOptions {
  output: string;
  scale?: number;
  preluNode?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export a network to ONNX (batch norms folded; NCHW float32, any height and width)')
    .argument('<model>', 'srcnn, srresnet, srgan (with --scale) or a checkpoint folder')
    .requiredOption('-o, --output <file>', 'the .onnx file to write')
    .option('--scale <n>', "shipped model's scale: 2, 3 or 4 (default: 4, or a checkpoint's own)", parseScale)
    .option(
      '--prelu-node',
      'write each PReLU as one PRelu node (default: Relu, Add and per-channel BatchNormalization scalings, the same values, faster in ONNX Runtime on CPUs)',
    )
    .option('--json', 'print a JSON summary on stdout')
    .action(async (model: string, opts: ExportCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      // The export reads weights through tfjs; any backend does, the fastest to start is fine.
      await startBackend(cmd);
      const result = await exportModel({ model, scale: opts.scale, output: opts.output, prelu: opts.preluNode ? 'node' : 'scaled-relu' });
      if (opts.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      const input = result.inputSpace === 'y' ? 'Y channel' : 'RGB';
      const upsampled = result.inputIsUpsampled ? `bicubic x${result.scale} image` : 'LR image';
      const pad = result.shrink > 0 ? `, mirror-padded by ${result.shrink}` : '';
      notice(
        mode,
        `${style.ok('wrote')} ${result.output} (${result.model} x${result.scale}, ${(result.bytes / 1024).toFixed(0)} KiB; input: ${input} of the ${upsampled}${pad}, NCHW)`,
      );
    });
}
