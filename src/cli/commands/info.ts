/** `sr info`: which backend runs, why the others were skipped, threads and versions. */
import type { Command } from 'commander';
import { initBackend } from '../../backend';
import { formatTable, style } from '../output';
import { backendOptions } from '../shared';

export function register(program: Command): void {
  program
    .command('info')
    .description('show the compute backend in use, why others were skipped, threads and versions')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const info = await initBackend(backendOptions(cmd));
      if (opts.json) {
        process.stdout.write(JSON.stringify(info) + '\n');
        return;
      }
      const lines = [
        `${style.bold('backend')}  ${style.ok(info.active)} (tfjs '${info.tfBackend}', ${info.threads} thread${info.threads === 1 ? '' : 's'})`,
      ];
      for (const skip of info.skipped) lines.push(`${style.dim('skipped')}  ${skip.backend}: ${skip.reason}`);
      for (const note of info.notes) lines.push(`${style.warn('note')}     ${note}`);
      lines.push('', formatTable(['component', 'version'], Object.entries(info.versions)));
      process.stdout.write(lines.join('\n') + '\n');
    });
}
