/**
 * How the CLI talks: colour and progress bars for people at a terminal, nothing but the requested
 * result (JSON, CSV) when piped, and one-line errors.
 */
import chalk from 'chalk';
import * as cliProgress from 'cli-progress';

export interface OutputMode {
  /** Print machine-readable results only (stdout), no bars or tables. */
  json: boolean;
  /** Progress bars go to stderr only when it is a terminal. */
  interactive: boolean;
  verbose: boolean;
}

export function outputMode(opts: { json?: boolean; verbose?: boolean }): OutputMode {
  return {
    json: Boolean(opts.json),
    interactive: Boolean(process.stderr.isTTY) && !opts.json && process.env.CI !== 'true',
    verbose: Boolean(opts.verbose),
  };
}

// chalk already honours NO_COLOR/FORCE_COLOR and a non-TTY stdout through supports-color.
export const style = {
  ok: (s: string) => chalk.green(s),
  warn: (s: string) => chalk.yellow(s),
  err: (s: string) => chalk.red(s),
  dim: (s: string) => chalk.dim(s),
  bold: (s: string) => chalk.bold(s),
  head: (s: string) => chalk.cyan.bold(s),
};

/** A progress reporter; on a non-interactive output every call is a no-op. */
export interface Progress {
  start(total: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  increment(payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  stop(): void;
}

const silentProgress: Progress = {
  start() {},
  update() {},
  increment() {},
  setTotal() {},
  stop() {},
};

/**
 * A bar on stderr with `{value}/{total}`, ETA and whatever payload fields `format` names
 * (e.g. '{loss}'), or a silent one when piped.
 */
export function progressBar(mode: OutputMode, label: string, extraFormat = ''): Progress {
  if (!mode.interactive) return silentProgress;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} ${chalk.cyan('{bar}')} {value}/{total} | ETA {eta_formatted}${extraFormat ? ' | ' + extraFormat : ''}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total, payload) => bar.start(total, 0, payload),
    update: (value, payload) => bar.update(value, payload),
    increment: (payload) => bar.increment(1, payload),
    setTotal: (total) => bar.setTotal(total),
    stop: () => bar.stop(),
  };
}

/** A one-line notice on stderr (suppressed by --json so stdout/stderr stay parseable). */
export function notice(mode: OutputMode, message: string): void {
  if (!mode.json) process.stderr.write(message + '\n');
}

/** Left-aligned text table with a header row. */
export function formatTable(header: string[], rows: string[][], align: ('l' | 'r')[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cell: string, i: number) => (align[i] === 'r' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]));
  const line = (cells: string[]) => cells.map(pad).join('  ').trimEnd();
  return [style.head(line(header)), ...rows.map(line)].join('\n');
}
