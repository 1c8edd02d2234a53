/** Option plumbing shared by the subcommands. */
import * as fs from 'fs';
import * as path from 'path';
import type { TileSize } from '../infer/tile';
import { UsageError } from '../errors';
import { Option, type Command } from 'commander';
import { ENGINE_CHOICES, type EngineInfo } from '../infer/upscaler';
import { notice, style, type OutputMode } from './output';
import { initBackend, type BackendInfo, type BackendOptions } from '../backend';
import type { GlobalOptions } from './main';

/** The global --backend/--threads/--no-native-conv, read from the root program whatever the subcommand. */
export function backendOptions(cmd: Command): BackendOptions {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  return { backend: opts.backend, threads: opts.threads, nativeConv: opts.nativeConv };
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
    process.stderr.write(style.warn(`sr: warning: backend ${info.requested} could not start (${reason}); running on ${info.active}`) + '\n');
  }
  return info;
}

/** `--scale`: 2, 3 or 4 (checked again where the model is known). */
export function parseScale(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > 4) throw new UsageError(`--scale must be 2, 3 or 4, got '${value}'`);
  return n;
}

/** `--tile`/`--tile-pad`: a whole number, 0 or more. */
export function parseTile(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number (0 or more), got '${value}'`);
    return n;
  };
}

/** `--tile`: a side in LR pixels, 0 for the whole image, or 'auto'. */
export function parseTileSize(value: string): TileSize {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--tile must be 'auto' or a whole number (0: the whole image at once), got '${value}'`);
  return n;
}

/** `--zoom`/`--report-zoom`: a whole number from 1 to 16 (crops are enlarged by nearest neighbour). */
export function parseZoom(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageError(`${flag} must be a whole number from 1 to 16, got '${value}'`);
    return n;
  };
}

/** An output file's folder must exist: checked before long work, not found missing after it. */
export function checkOutputFolder(file: string, flag: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${flag} ${file}: folder ${path.dirname(file)} does not exist`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`${flag} ${file}: is a folder, expected a file name`);
}

/** `--engine` for the commands that run networks. */
export function engineOption(): Option {
  return new Option('--engine <engine>', 'where networks run: onnx (ONNX Runtime), tfjs, or auto (onnx when it loads)').choices([...ENGINE_CHOICES]).default('auto');
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
