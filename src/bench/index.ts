/**
 * `npm run bench` (node dist/bench/index.js): the project's speed figures, with warm-up and medians.
 *
 *   npm run bench -- [--json] [--threads N] [--backend NAME] [--reps N] [--only a,b] [--out FILE]
 *                    [--no-save] [--set14 DIR] [--profile]
 *
 * Human output is a table on stdout with progress on stderr; --json prints exactly one JSON object
 * on stdout (and nothing else there). The report is also written, atomically, to --out (default
 * bench-results/latest.json at the project root, a git-ignored folder).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_CHOICES, shutdownBackend } from '../runtime/tfjs';
import { writeFileAtomic } from '../core/atomic';
import { BENCH_NAMES, isBenchName, type BenchName } from './cases';
import { formatReport } from './format';
import { runBench, type BenchReport, type BenchOptions } from './run';
import { packagePath } from '../core/paths';

export { runBench } from './run';
export type { BenchReport, BenchOptions } from './run';
export { BENCH_NAMES } from './cases';

/** bench-results/latest.json at the project root (this file is src/bench or dist/bench). */
export function defaultOutFile(): string {
  return packagePath('bench-results', 'latest.json');
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, got '${value}'`);
    return n;
  };
}

function benchList(value: string): BenchName[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !isBenchName(n));
  if (names.length === 0 || unknown.length) {
    throw new InvalidArgumentError(
      `unknown benchmark${unknown.length > 1 ? 's' : ''} '${unknown.join(', ')}' (choose from ${BENCH_NAMES.join(', ')})`,
    );
  }
  return names as BenchName[];
}

interface CliOptions {
  json?: boolean;
  threads?: number;
  backend?: string;
  reps?: number;
  only?: BenchName[];
  out?: string;
  save: boolean;
  set14?: string;
  profile?: boolean;
  peer: boolean;
  cuda?: boolean;
}

export async function writeReport(file: string, report: BenchReport): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(report, null, 2) + '\n');
}

function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Keeps stdout for the one JSON object: anything else printed with console.log goes to stderr. */
function stdoutToStderr(): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
  return () => Object.assign(console, saved);
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('bench')
    .description('measure training-step, inference and evaluation speed against the project targets')
    .option('--json', 'print one JSON object on stdout, nothing else')
    .option('--threads <n>', 'threads for the wasm backend and ONNX Runtime (default: all cores)', positiveInt('--threads'))
    .addOption(new Option('--backend <name>', 'compute backend (default: auto, or SR_BACKEND)').choices([...BACKEND_CHOICES]))
    .option('--reps <n>', 'timed repetitions per benchmark (default: per benchmark, 3 to 20)', positiveInt('--reps'))
    .option('--only <names>', `comma-separated subset of: ${BENCH_NAMES.join(', ')}`, benchList)
    .option('--out <file>', 'also write the JSON report here (atomically)')
    .option('--no-save', 'do not write the JSON report to a file')
    .option('--set14 <dir>', 'Set14 HR images (default: ../shared/datasets/Set14 beside the project)')
    .option('--cuda', "run the onnx training cases on ONNX Runtime's CUDA provider (scripts/gpu-check.sh)")
    .option('--no-peer', 'do not run the PyTorch peer (../shared/peers/torch_peer.py) after the cases')
    .option('--profile', 'also break the SRCNN step and SRResNet inference down by phase and kernel')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv);
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    process.exitCode = code === 0 ? 0 : 2;
    return;
  }
  const opts = program.opts<CliOptions>();
  const json = Boolean(opts.json);
  const log = json ? () => undefined : (message: string) => process.stderr.write(`bench: ${message}\n`);
  const restoreConsole = json ? stdoutToStderr() : () => undefined;
  const outFile = opts.save ? path.resolve(opts.out ?? defaultOutFile()) : undefined;
  try {
    const options: BenchOptions = {
      backend: opts.backend,
      threads: opts.threads,
      reps: opts.reps,
      only: opts.only,
      set14Dir: opts.set14 ? path.resolve(opts.set14) : undefined,
      profile: opts.profile,
      peer: opts.peer,
      cuda: opts.cuda,
      log,
    };
    const report = await runBench(options);
    if (outFile) await writeReport(outFile, report);
    restoreConsole();
    if (json) process.stdout.write(JSON.stringify(report) + '\n');
    else process.stdout.write(formatReport(report) + '\n' + (outFile ? `saved ${displayPath(outFile)}\n` : ''));
  } catch (err) {
    restoreConsole();
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    shutdownBackend();
  }
  // shutdownBackend() frees what keeps the process alive; if something still does, say so and leave.
  setTimeout(() => {
    process.stderr.write('bench: something kept the process alive after shutdownBackend(); exiting\n');
    process.exit();
  }, 10_000).unref();
}

if (require.main === module) void main(process.argv);
