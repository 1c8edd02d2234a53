/** `sr queue status URL`: the jobs of the queue by state, and why each failed one failed. */
import type { Command } from 'commander';
import { formatTable, style } from '../../core/terminal';
import { displayUrl, parseQueueUrl, queueStatus, type QueueStatus } from '../../queue';

/** A failure's line; errors about a file usually name it already. */
function failureLine(f: QueueStatus['failures'][number]): string {
  return f.error.includes(f.input) ? f.error : `${f.input}: ${f.error}`;
}

function statusText(url: string, status: QueueStatus): string {
  const rows = (['waiting', 'active', 'completed', 'failed'] as const).map((state) => [state, String(status[state])]);
  const lines = [style.head(`queue ${displayUrl(url)}`), formatTable(['jobs', 'count'], rows, ['l', 'r'])];
  if (status.failures.length) lines.push(style.head('failed:'), ...status.failures.map(failureLine));
  return lines.join('\n');
}

export function register(program: Command): void {
  const queue = program.command('queue').description('look at the Redis job queue of `sr worker`s');
  queue
    .command('status')
    .description('waiting, active, completed and failed jobs, with each failure')
    .argument('<url>', 'the Redis holding the queue: redis://host:port[/db]', parseQueueUrl)
    .option('--json', 'print one JSON object on stdout')
    .action(async (url: string, opts: { json?: boolean }) => {
      const status = await queueStatus(url);
      process.stdout.write((opts.json ? JSON.stringify(status) : statusText(url, status)) + '\n');
    });
}
