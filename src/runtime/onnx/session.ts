/**
 * ONNX Runtime (onnxruntime-node), loaded on first use: whether it loads, with which execution
 * providers, and sessions over exported models. The CPU library ships inside the npm package; the
 * CUDA provider is a separate download its install script makes only when asked
 * (ONNXRUNTIME_NODE_INSTALL=cuda12), so its presence is checked on disk before it is tried.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as Ort from 'onnxruntime-node';
import { SrError, firstLine } from '../../core/errors';

export const ONNXRUNTIME_PACKAGE = 'onnxruntime-node';

export interface OnnxRuntimeStatus {
  available: boolean;
  version?: string;
  /** Why it is not available (one line). */
  reason?: string;
  /** The CUDA execution provider's library is installed beside the binding. */
  cudaInstalled: boolean;
}

let loaded: { ort?: typeof Ort; status: OnnxRuntimeStatus } | undefined;

/** The folder onnxruntime-node loads its native libraries from (bin/napi-v6/<platform>/<arch>). */
function bindingDir(): string | undefined {
  try {
    const pkg = require.resolve(`${ONNXRUNTIME_PACKAGE}/package.json`);
    return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

function cudaProviderInstalled(): boolean {
  const dir = bindingDir();
  if (!dir) return false;
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return fs.existsSync(path.join(dir, lib));
}

function load(): { ort?: typeof Ort; status: OnnxRuntimeStatus } {
  if (loaded) return loaded;
  try {
    const ort = require(ONNXRUNTIME_PACKAGE) as typeof Ort;
    // The binding is loaded lazily by some versions; listing its backends forces it now.
    ort.listSupportedBackends();
    const version = ort.env.versions?.node ?? (require(`${ONNXRUNTIME_PACKAGE}/package.json`) as { version: string }).version;
    loaded = { ort, status: { available: true, version, cudaInstalled: cudaProviderInstalled() } };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    const reason =
      code === 'MODULE_NOT_FOUND' && firstLine(err).includes(`'${ONNXRUNTIME_PACKAGE}'`)
        ? `${ONNXRUNTIME_PACKAGE} is not installed`
        : `${ONNXRUNTIME_PACKAGE} failed to load: ${firstLine(err)}`;
    loaded = { status: { available: false, reason, cudaInstalled: false } };
  }
  return loaded;
}

/** Whether ONNX Runtime loads here (loading it once if that has not happened yet). */
export function onnxRuntimeStatus(): OnnxRuntimeStatus {
  return load().status;
}

/** The onnxruntime-node module, or an SrError saying in one line why it cannot be used. */
export function onnxRuntime(): typeof Ort {
  const { ort, status } = load();
  if (!ort) throw new SrError(`ONNX Runtime is not available: ${status.reason}`);
  return ort;
}

export interface SessionOptions {
  /** Intra-op threads on the CPU (default: every core). */
  threads?: number;
  /** Try the CUDA execution provider first when it is installed (default true). */
  cuda?: boolean;
  /**
   * ONNX Runtime's CPU memory arena (default true). It keeps every block it ever took, grown in
   * powers of two: a little faster (docs/performance.md, "Kernel and engine measurements"), but 1 GB
   * resident after one 224x224 tile where the same run without it peaks at 0.2 GB.
   */
  memoryArena?: boolean;
}

export interface OnnxSession {
  session: Ort.InferenceSession;
  /** 'cuda' or 'cpu'. */
  provider: 'cuda' | 'cpu';
  threads: number;
  /** Why CUDA was not used although installed, when that happened. */
  notes: string[];
}

/** A session over a serialised model: CUDA when its provider is installed and starts, else CPU. */
export async function createSession(model: Uint8Array, options: SessionOptions = {}): Promise<OnnxSession> {
  const ort = onnxRuntime();
  const threads = Math.max(1, Math.floor(options.threads ?? os.cpus().length));
  const base: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    enableCpuMemArena: options.memoryArena ?? true,
  };
  const notes: string[] = [];
  if (options.cuda !== false && onnxRuntimeStatus().cudaInstalled) {
    try {
      const session = await ort.InferenceSession.create(model, { ...base, executionProviders: ['cuda', 'cpu'] });
      return { session, provider: 'cuda', threads, notes };
    } catch (err) {
      notes.push(`ONNX Runtime's CUDA provider is installed but did not start (${firstLine(err)}); using the CPU`);
    }
  }
  try {
    const session = await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] });
    return { session, provider: 'cpu', threads, notes };
  } catch (err) {
    throw new SrError(`ONNX Runtime could not load the exported model: ${firstLine(err)}`);
  }
}
