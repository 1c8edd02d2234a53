/**
 * The `sr` command line: a thin layer that parses options, calls the library and prints.
 */
import { Command, CommanderError, Option } from 'commander';
import { BACKEND_CHOICES, shutdownBackend } from '../runtime/tfjs';
import { UsageError } from '../core/errors';
import { registerCommands } from './commands';
import { positiveInteger, type GlobalOptions } from './options';
import { packageVersion } from '../core/paths';
import { DEVICES } from '../engines/onnx/device';

export function buildProgram(): Command {
  const program = new Command('sr')
    .description('Image super-resolution: train SRCNN/SRGAN, upscale pictures, score them like the papers do.')
    .version(packageVersion())
    .addOption(new Option('--backend <name>', 'compute backend (also SR_BACKEND)').choices([...BACKEND_CHOICES]))
    .option('--threads <n>', 'threads for the wasm backend and ONNX Runtime (default: all cores)', positiveInteger('--threads'))
    .addOption(
      new Option(
        '--device <device>',
        "ONNX Runtime's device for networks and the onnx training engine: auto (CUDA when installed), cpu or cuda",
      ).choices([...DEVICES]),
    )
    .option('--no-native-conv', "keep wasm convolutions on tfjs instead of ONNX Runtime's native kernels (also SR_NATIVE_CONV=0)")
    .option('--verbose', 'show stack traces and extra detail')
    // Commander's parse errors in the same one-line form as every other error ('sr: ...').
    .configureOutput({ outputError: (message, write) => write(`sr: ${message.trim().replace(/^error: /, '')} (see sr --help)\n`) })
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Exit code for an error: 2 for a usage mistake, 1 for everything else. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return 2;
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  return 1;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0];
  return String(err);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  let code = 0;
  try {
    await program.parseAsync(argv);
  } catch (err) {
    code = exitCodeFor(err);
    // Commander has already printed its own one-line message (configureOutput above) for parse errors and help.
    if (!(err instanceof CommanderError)) {
      process.stderr.write(`sr: ${describe(err)}\n`);
      if (program.opts<GlobalOptions>().verbose && err instanceof Error && err.stack) {
        process.stderr.write(err.stack + '\n');
      }
    }
  } finally {
    shutdownBackend();
  }
  process.exitCode = code || (process.exitCode ?? 0);
}
