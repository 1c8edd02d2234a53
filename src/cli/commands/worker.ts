/** `sr worker`: runs upscale and eval jobs from a Redis queue until stopped (or idle). */
import type { Command } from 'commander';
import { notice, outputMode, style } from '../../core/terminal';
import { parseQueueUrl, runWorker } from '../../queue';
import { backendOptions, deviceOption, numberParser, positiveInteger } from '../options';

interface WorkerCliOptions {
  queue: string;
  concurrency: number;
  exitWhenIdle?: number;
}

const parseIdleSeconds = numberParser('--exit-when-idle', { min: 0, says: 'a number of seconds (0 or more)' });

export function register(program: Command): void {
  program
    .command('worker')
    .description('run queued `sr upscale`/`sr eval` jobs (inputs and outputs on storage every worker sees)')
    .requiredOption('--queue <url>', 'the Redis holding the queue: redis://host:port[/db]', parseQueueUrl)
    .option('--concurrency <n>', 'jobs run at once, each in its own child process with its own models', positiveInteger('--concurrency'), 1)
    .option('--exit-when-idle <seconds>', 'exit once no job has been waiting or running for this long', parseIdleSeconds)
    .action(async (opts: WorkerCliOptions, cmd: Command) => {
      const mode = outputMode({ verbose: cmd.optsWithGlobals().verbose });
      const summary = await runWorker({
        url: opts.queue,
        concurrency: opts.concurrency,
        threads: backendOptions(cmd).threads,
        backend: backendOptions(cmd),
        device: deviceOption(cmd),
        exitWhenIdleSeconds: opts.exitWhenIdle,
        log: (line) => notice(mode, line.startsWith('failed') ? style.err(line) : line),
      });
      notice(mode, `${style.ok('worker done')}: ${summary.completed} job(s) completed, ${summary.failed} failed`);
    });
}
