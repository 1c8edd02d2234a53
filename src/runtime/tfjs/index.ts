/**
 * Picks the compute backend: CUDA TensorFlow, native TensorFlow, WebAssembly, then plain JS,
 * and remembers why each earlier one was skipped so `sr info` can say so.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { startWasm, stopWasm } from './wasm';
import { registerFastKernels } from './kernels';
import { disableNativeConv, enableNativeConv, type NativeConvStatus } from './kernels/native_conv';

export type { NativeConvStatus };
import { UsageError, firstLine } from '../../core/errors';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;

export interface BackendSkip {
  backend: ConcreteBackend;
  reason: string;
}

export interface BackendInfo {
  /** What was asked for (`--backend`, `SR_BACKEND`, or auto). */
  requested: BackendChoice;
  /** What runs. */
  active: ConcreteBackend;
  /** tfjs's own name for the running backend ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  threads: number;
  skipped: BackendSkip[];
  notes: string[];
  /** Kernels sr registered or replaced on this backend. */
  kernels: string[];
  /** Whether convolutions run on ONNX Runtime's native kernels (wasm only), or why not. */
  nativeConv: NativeConvStatus;
  versions: Record<string, string>;
}

export interface BackendOptions {
  backend?: BackendChoice | string;
  /** Worker threads for wasm; default: every core. */
  threads?: number;
  /** Convolutions on ONNX Runtime under wasm (default true; SR_NATIVE_CONV=0 also turns them off). */
  nativeConv?: boolean;
}

const NATIVE_PACKAGES: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

let current: BackendInfo | undefined;

export function isBackendChoice(value: string): value is BackendChoice {
  return (BACKEND_CHOICES as readonly string[]).includes(value);
}

/** The order `auto` tries, and the fallbacks of an explicit choice that fails. */
function candidatesFor(choice: BackendChoice): ConcreteBackend[] {
  const order: ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  if (choice === 'auto') return order;
  return order.slice(order.indexOf(choice));
}

function explainNativeFailure(pkg: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'MODULE_NOT_FOUND' && firstLine(err).includes(`'${pkg}'`)) {
    return `${pkg} is not installed (its install script downloads libtensorflow; run \`npm install ${pkg}\` where that download is possible)`;
  }
  // tfjs-node's loader names the addon it expected when its install script never built it.
  if (/tfjs_binding\.node\) can not be found/.test(firstLine(err))) {
    return `${pkg} is installed without its native addon (its install script, which downloads libtensorflow, did not run)`;
  }
  return `${pkg} failed to load: ${firstLine(err)}`;
}

async function tryNative(kind: 'tensorflow-gpu' | 'tensorflow'): Promise<void> {
  const pkg = NATIVE_PACKAGES[kind];
  // Both packages register a backend named 'tensorflow' on the shared @tensorflow/tfjs instance.

  require(pkg);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not initialise`);
}

function silenceCpuGreeting(): void {
  // The cpu backend prints a multi-line advert for tfjs-node on first use; `sr info` says the same in one line.
  const backend = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (backend && 'firstUse' in backend) backend.firstUse = false;
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node, tfjs: tf.version.tfjs };
  for (const pkg of ['@tensorflow/tfjs-backend-wasm', 'sharp', ...Object.values(NATIVE_PACKAGES)]) {
    try {
      out[pkg] = require(`${pkg}/package.json`).version;
    } catch {
      /* not installed */
    }
  }
  return out;
}

/** Starts the backend once per process; later calls return what is running. */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  if (current) return current;
  const requestedRaw = options.backend ?? process.env.SR_BACKEND ?? 'auto';
  if (!isBackendChoice(requestedRaw)) {
    throw new UsageError(`unknown backend '${requestedRaw}' (choose one of ${BACKEND_CHOICES.join(', ')})`);
  }
  const requested = requestedRaw;
  const wantedThreads = Math.max(1, Math.floor(options.threads ?? os.cpus().length));
  const skipped: BackendSkip[] = [];
  const notes: string[] = [];
  tf.env().set('PROD', true);

  for (const candidate of candidatesFor(requested)) {
    try {
      let threads = 1;
      if (candidate === 'tensorflow-gpu' || candidate === 'tensorflow') {
        await tryNative(candidate);
        threads = os.cpus().length;
      } else if (candidate === 'wasm') {
        const started = await startWasm(wantedThreads);
        threads = started.threads;
        if (started.note) notes.push(started.note);
      } else {
        if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
        silenceCpuGreeting();
      }
      await tf.ready();
      // Training kernels the JS backends lack or run slowly (conv gradients as forward convs...).
      const kernels = candidate === 'wasm' || candidate === 'cpu' ? registerFastKernels(tf.getBackend()) : [];
      const nativeConv =
        candidate !== 'wasm'
          ? { enabled: false, reason: `not used with the ${candidate} backend` }
          : options.nativeConv === false
            ? { enabled: false, reason: 'turned off (--no-native-conv)' }
            : enableNativeConv(threads);
      current = {
        requested,
        active: candidate,
        tfBackend: tf.getBackend(),
        threads,
        skipped,
        notes,
        kernels,
        nativeConv,
        versions: versions(),
      };
      return current;
    } catch (err) {
      const reason =
        candidate === 'tensorflow-gpu' || candidate === 'tensorflow'
          ? explainNativeFailure(NATIVE_PACKAGES[candidate], err)
          : firstLine(err);
      skipped.push({ backend: candidate, reason });
    }
  }
  throw new Error(`no backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
}

/** One line for logs: 'wasm, 2 threads, convolutions on ONNX Runtime'. */
export function backendSummary(info: BackendInfo): string {
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  return `${info.active}, ${threads}${info.nativeConv.enabled ? ', convolutions on ONNX Runtime' : ''}`;
}

export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** Releases what keeps the process alive (wasm worker threads). */
export function shutdownBackend(): void {
  disableNativeConv();
  if (current?.active === 'wasm') stopWasm();
  current = undefined;
}
