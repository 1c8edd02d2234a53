/**
 * What the subcommands share: the global options, every number parser (one rule, one message
 * form), the --engine option and the backend start. Commands import this module, never each other
 * or main.ts.
 */
import type { Device } from '../engines/onnx/device';
import type { TileSize } from '../infer/tile';
import { UsageError } from '../core/errors';
import { Option, type Command } from 'commander';
import { ENGINE_CHOICES, type EngineInfo } from '../infer/upscaler';
import { notice, style, type OutputMode } from '../core/terminal';
import { initBackend, type BackendInfo, type BackendOptions } from '../runtime/tfjs';

/** The global --backend/--threads/--no-native-conv, read from the root program whatever the subcommand. */
export function backendOptions(cmd: Command): BackendOptions {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  return { backend: opts.backend, threads: opts.threads, nativeConv: opts.nativeConv };
}

/** The global --device: ONNX Runtime's execution provider. */
export function deviceOption(cmd: Command): Device | undefined {
  return cmd.optsWithGlobals<GlobalOptions>().device;
}

/**
 * Starts the compute backend for a command. An explicit --backend (or SR_BACKEND) that could not
 * start is said on stderr with the reason, whatever the output mode; auto's fallbacks are the
 * expected path on most machines, and `sr info` lists them.
 */
export async function startBackend(cmd: Command): Promise<BackendInfo> {
  const info = await initBackend(backendOptions(cmd));
  if (info.requested !== 'auto' && info.active !== info.requested) {
    const reason = info.skipped.find((s) => s.backend === info.requested)?.reason ?? 'unavailable';
    process.stderr.write(
      style.warn(`sr: warning: backend ${info.requested} could not start (${reason}); running on ${info.active}`) + '\n',
    );
  }
  return info;
}

export interface GlobalOptions {
  backend?: string;
  threads?: number;
  /** ONNX Runtime's execution provider (--device). */
  device?: Device;
  /** False with --no-native-conv. */
  nativeConv?: boolean;
  verbose?: boolean;
}

/** What a number option accepts; `says` completes "FLAG must be ..." in its error. */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** Strictly above this. */
  above?: number;
  says: string;
}

/** A commander parser for a number option: a usage error (exit 2) naming the flag and the value. */
export function numberParser(flag: string, rule: NumberRule): (value: string) => number {
  return (value: string) => {
    const n = value.trim() === '' ? NaN : Number(value);
    const ok =
      Number.isFinite(n) &&
      (!rule.integer || Number.isInteger(n)) &&
      (rule.min === undefined || n >= rule.min) &&
      (rule.max === undefined || n <= rule.max) &&
      (rule.above === undefined || n > rule.above);
    if (!ok) throw new UsageError(`${flag} must be ${rule.says}, got '${value}'`);
    return n;
  };
}

/** A whole number of at least 1. */
export const positiveInteger = (flag: string) => numberParser(flag, { integer: true, min: 1, says: 'a positive whole number' });
/** Any number above 0. */
export const positiveNumber = (flag: string) => numberParser(flag, { above: 0, says: 'a positive number' });

/** `--scale`: 2, 3 or 4 (checked again where the model is known). */
export const parseScale = numberParser('--scale', { integer: true, min: 2, max: 4, says: '2, 3 or 4' });

/** `--tile-pad` and the like: a whole number, 0 or more. */
export const parseTile = (flag: string) => numberParser(flag, { integer: true, min: 0, says: 'a whole number (0 or more)' });

/** `--tile`: a side in LR pixels, 0 for the whole image, or 'auto'. */
export function parseTileSize(value: string): TileSize {
  if (value === 'auto') return 'auto';
  return numberParser('--tile', { integer: true, min: 0, says: "'auto' or a whole number (0: the whole image at once)" })(value);
}

/** `--zoom`/`--report-zoom`: a whole number from 1 to 16 (crops are enlarged by nearest neighbour). */
export const parseZoom = (flag: string) => numberParser(flag, { integer: true, min: 1, max: 16, says: 'a whole number from 1 to 16' });

/** `--engine` for the commands that run networks. */
export function engineOption(): Option {
  return new Option('--engine <engine>', 'where networks run: onnx (ONNX Runtime), tfjs, or auto (onnx when it loads)')
    .choices([...ENGINE_CHOICES])
    .default('auto');
}

/** Says which engine runs (and any fallback), as `backend:` is said; the export cache with --verbose. */
export function reportEngine(mode: OutputMode, engine: EngineInfo | undefined, descriptionSaid = false): void {
  if (!engine) return;
  for (const note of engine.notes) notice(mode, style.warn(`note: ${note}`));
  if (!mode.verbose) return;
  if (!descriptionSaid) notice(mode, style.dim(`engine: ${engine.description}`));
  if (engine.export) {
    const where = engine.export.path ?? 'memory only (no writable cache folder)';
    notice(mode, style.dim(`onnx export: ${engine.export.rebuilt ? 'built now, cached in' : 'cached in'} ${where}`));
  }
}
