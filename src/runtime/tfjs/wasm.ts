/**
 * Starting the tfjs WebAssembly backend under Node: the multithreaded SIMD build when more than one
 * thread is asked for, else (or when that fails) the single-threaded SIMD build.
 *
 * tfjs-backend-wasm does not run threads under Node by itself: it reports no thread support there,
 * it hands Emscripten Blob URLs that Node's worker_threads cannot load, and its module allows no
 * more threads than half the cores. Here the flag is overridden for the one initialisation,
 * wasm/node-pthreads.ts deals with the workers and wasm/reported-cores.ts with the core count.
 * The backend is built by calling the package's factory directly, so a failed threaded start
 * leaves nothing behind in tfjs's engine and the single-threaded start that follows is a fresh one.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { PTHREAD_POOL_SIZE, PthreadFault, releaseIdleWorkers, withNodePthreads } from './wasm/node-pthreads';
import { withReportedCores } from './wasm/reported-cores';
import { firstLine } from '../../core/errors';

export interface WasmStart {
  threads: number;
  /** Why fewer threads than asked for run, when that happens. */
  note?: string;
}

export interface WasmStartOptions {
  /** How long the pthread workers may take to load before falling back (default 30 s). */
  initTimeoutMs?: number;
  /** Test hook, also read from SR_WASM_PTHREAD_FAULT: make the threaded start fail. */
  pthreadFault?: PthreadFault;
}

const WASM = 'wasm';
/** The priority tfjs-backend-wasm registers itself with. */
const WASM_PRIORITY = 2;
const MULTITHREAD_FLAG = 'WASM_HAS_MULTITHREAD_SUPPORT';
const DEFAULT_INIT_TIMEOUT_MS = 30_000;
/** backend.cc caps its XNNPACK pool at the glue's pre-created workers (the caller is one thread). */
export const MAX_WASM_THREADS = PTHREAD_POOL_SIZE;

type WasmFactory = () => Promise<BackendWasm>;

/** The factory tfjs-backend-wasm registered on import; it reads the flags each time it runs. */
const packageFactory = tf.findBackendFactory(WASM) as WasmFactory | null;

function wasmFactory(): WasmFactory {
  if (!packageFactory) throw new Error('@tensorflow/tfjs-backend-wasm did not register its backend');
  return packageFactory;
}

/**
 * Drops a running wasm backend (disposing it frees XNNPACK and terminates its pthread workers) and
 * puts the package's factory back, so the next start builds a fresh module with its own threads.
 */
function resetWasm(): void {
  const running = WASM in tf.engine().registry;
  const registered = tf.findBackendFactory(WASM) as WasmFactory | null; // null when unregistered
  if (registered === packageFactory && !running) return;
  if (registered) tf.removeBackend(WASM);
  tf.registerBackend(WASM, wasmFactory(), WASM_PRIORITY);
}

/** Makes an already built backend the active 'wasm' one. */
async function activate(backend: BackendWasm): Promise<void> {
  tf.removeBackend(WASM);
  tf.registerBackend(WASM, () => backend, WASM_PRIORITY);
  if (!(await tf.setBackend(WASM))) throw new Error('tfjs refused the started wasm backend');
}

function faultFrom(options: WasmStartOptions): PthreadFault | undefined {
  const fault = options.pthreadFault ?? process.env.SR_WASM_PTHREAD_FAULT;
  if (fault === undefined || fault === '') return undefined;
  if (fault === 'throw' || fault === 'hang') return fault;
  throw new Error(`SR_WASM_PTHREAD_FAULT must be 'throw' or 'hang', not '${fault}'`);
}

async function startThreaded(threads: number, options: WasmStartOptions): Promise<void> {
  setThreadsCount(threads);
  // Read once, by the init below: tfjs then picks the threaded build and its locateFile hands out
  // the worker script. Reset right after, so any later implicit start stays single-threaded.
  tf.env().set(MULTITHREAD_FLAG, true);
  let backend: BackendWasm;
  try {
    const pthreads = { timeoutMs: options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS, fault: faultFrom(options) };
    backend = await withReportedCores(2 * threads, () => withNodePthreads(wasmFactory(), pthreads));
  } finally {
    tf.env().set(MULTITHREAD_FLAG, false);
  }
  releaseIdleWorkers(backend.wasm);
  // On failure the caller's reset disposes the backend, which tfjs has registered by then.
  await activate(backend);
}

async function startSingleThreaded(): Promise<void> {
  setThreadsCount(1);
  tf.env().set(MULTITHREAD_FLAG, false);
  resetWasm();
  if (!(await tf.setBackend(WASM))) throw new Error('the wasm backend failed to initialise');
}

/**
 * Starts the wasm backend with up to `requestedThreads` threads. A wasm backend already running is
 * replaced (its tensors are gone), since the thread count is fixed when the module starts.
 */
export async function startWasm(requestedThreads: number, options: WasmStartOptions = {}): Promise<WasmStart> {
  const wanted = Math.max(1, Math.floor(requestedThreads));
  const threads = Math.min(wanted, MAX_WASM_THREADS);
  let note: string | undefined;
  resetWasm();
  if (threads > 1) {
    try {
      await startThreaded(threads, options);
    } catch (err) {
      note = `single-threaded wasm: the multithreaded build failed to start (${firstLine(err)})`;
      resetWasm();
    }
  }
  if (threads === 1 || note) await startSingleThreaded();
  await tf.ready();
  const running = getThreadsCount();
  if (!note && running < wanted) note = fewerThreadsNote(wanted, running);
  return { threads: running, note };
}

function fewerThreadsNote(wanted: number, running: number): string {
  if (wanted > MAX_WASM_THREADS) return `wasm runs at most ${MAX_WASM_THREADS} threads (asked for ${wanted})`;
  if (running === 1) return 'single-threaded wasm (this wasm build has no thread support)';
  return `wasm runs ${running} of ${wanted} threads (${os.cpus().length} cores)`;
}

/**
 * Stops the wasm backend: frees its memory and terminates its pthread workers. (They do not keep
 * Node from exiting, see wasm/node-pthreads.ts, but would live as long as the process.) The
 * backend stays registered, so it can be started again.
 */
export function stopWasm(): void {
  resetWasm();
}
