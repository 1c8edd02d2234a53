/**
 * Lets the Emscripten pthread glue of tfjs-backend-wasm spawn its worker threads under Node.
 *
 * tfjs hands Emscripten two Blobs that Node cannot run:
 *  - the pthread worker script, as a `blob:` URL from `locateFile('*.worker.js')`; Node's
 *    `new Worker()` only takes a path or a file:/data: URL;
 *  - the main script each worker imports (`mainScriptUrlOrBlob`), which the worker's Node shim of
 *    `importScripts` reads with `fs`. Its text is the rollup-bundled copy of the Emscripten glue,
 *    which refers to the bundle's module-scope names (`require$$0`, `commonjsGlobal`, tslib
 *    helpers) and cannot run on its own anyway.
 * Both programs also ship untouched in the package's wasm-out/ directory, so the Worker class
 * handed to Emscripten swaps the Blobs for those: the worker script as `eval` source, the main
 * script as a file path. The glue reads `require('worker_threads').Worker` while its factory runs
 * (and keeps it as the global `Worker` for threads it spawns later), so the class only needs to be
 * in place during initialisation.
 *
 * A worker that fails while the module loads would otherwise either throw from the glue's 'error'
 * handler (killing the process) or leave the module waiting for it forever; during initialisation
 * such failures, and a timeout, reject instead, so the caller can fall back.
 */
import * as path from 'path';
import type { TransferListItem, Worker as NodeWorker, WorkerOptions } from 'worker_threads';

/** Test hook: make every pthread worker fail ('throw') or never finish loading ('hang'). */
export type PthreadFault = 'throw' | 'hang';

export interface PthreadStartOptions {
  timeoutMs: number;
  fault?: PthreadFault;
}

/** Threads the glue can run without spawning workers on demand (its PTHREAD_POOL_SIZE is 8). */
export const PTHREAD_POOL_SIZE = 8;

// The module object itself: `import * as` would give a copy whose `Worker` the glue never sees.

const workerThreads: { Worker: typeof NodeWorker } = require('worker_threads');

function wasmOutFile(name: string): string {
  const packageJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(packageJson), 'wasm-out', name);
}

/** The glue every worker imports; it defines the global `WasmBackendModuleThreadedSimd`. */
const MAIN_SCRIPT = wasmOutFile('tfjs-backend-wasm-threaded-simd.js');

function pthreadWorkerSource(fault: PthreadFault | undefined): string {
  if (fault === 'hang') return `require('worker_threads').parentPort.on('message', () => {});`;

  const { wasmWorkerContents } = require(wasmOutFile('tfjs-backend-wasm-threaded-simd.worker.js'));
  // The text holds raw newlines inside string literals; tfjs escapes them the same way for its Blob.
  const source = (wasmWorkerContents as string).replace(/\n/g, '\\n');
  return fault === 'throw' ? `throw new Error('forced pthread worker failure');\n${source}` : source;
}

/** Worker errors arrive from Node's realm, which need not be the caller's (jest): no instanceof. */
function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  const message = (err as { message?: unknown } | null)?.message;
  return new Error(typeof message === 'string' ? message : String(err));
}

/** Follows one initialisation: the workers it created and the first failure among them. */
class InitWatch {
  readonly workers = new Set<NodeWorker>();
  readonly failed: Promise<never>;
  private reject!: (err: Error) => void;
  private state: 'loading' | 'running' | 'abandoned' = 'loading';

  constructor(readonly fault: PthreadFault | undefined) {
    this.failed = new Promise<never>((_, reject) => (this.reject = reject));
    this.failed.catch(() => undefined); // raced by the caller; a late failure must not go unhandled
  }

  adopt(worker: NodeWorker): void {
    this.workers.add(worker);
    worker.once('exit', (code) => this.fail(new Error(`a pthread worker exited with code ${code} while loading`)));
  }

  /**
   * Takes over a worker failure unless the module is running (then the glue's own handling
   * applies). Once one worker failed, the others' errors are dropped: they are being terminated.
   */
  fail(err: unknown): boolean {
    if (this.state === 'running') return false;
    this.reject(asError(err));
    return true;
  }

  /**
   * The glue refs a worker while its pthread runs, and XNNPACK's pool threads run for as long as
   * the module lives, so they would keep Node alive after the work is done. The main thread only
   * ever waits for them synchronously (inside a kernel), never on the event loop, so they need not.
   */
  succeeded(): void {
    this.state = 'running';
    for (const worker of this.workers) worker.unref();
  }

  abandon(): void {
    this.state = 'abandoned';
    for (const worker of this.workers) void worker.terminate();
  }
}

let watch: InitWatch | undefined;
/** Workers that have not exited yet, to check that stopping the backend ends them. */
const live = new Set<NodeWorker>();

export function livePthreadWorkers(): number {
  return live.size;
}

function isBlobUrl(script: string | URL): script is string {
  return typeof script === 'string' && script.startsWith('blob:');
}

/**
 * What Emscripten's `new Worker(...)` and `worker.postMessage(...)` get under Node. Other code that
 * happens to construct a Worker while this class is installed gets plain Worker behaviour.
 */
class PthreadWorker extends workerThreads.Worker {
  private readonly initWatch: InitWatch | undefined;
  private readonly isPthread: boolean;

  constructor(script: string | URL, options?: WorkerOptions) {
    const isPthread = isBlobUrl(script);
    if (isPthread) {
      URL.revokeObjectURL(script); // tfjs never revokes it, and it is not used
      super(pthreadWorkerSource(watch?.fault), { ...options, eval: true });
    } else {
      super(script, options);
    }
    this.isPthread = isPthread;
    this.initWatch = isPthread ? watch : undefined;
    if (isPthread) this.track();
  }

  private track(): void {
    live.add(this);
    this.once('exit', () => live.delete(this));
    this.initWatch?.adopt(this);
  }

  override postMessage(message: unknown, transferList?: readonly TransferListItem[]): void {
    super.postMessage(this.isPthread ? withMainScriptPath(message) : message, transferList);
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && this.initWatch?.fail(args[0])) return true;
    return super.emit(event, ...args);
  }
}

/** The 'load' command tells the worker which main script to import: give it a path, not a Blob. */
function withMainScriptPath(message: unknown): unknown {
  const load = message as { cmd?: unknown; urlOrBlob?: unknown } | null;
  if (load?.cmd !== 'load' || typeof load.urlOrBlob === 'string') return message;
  return { ...load, urlOrBlob: MAIN_SCRIPT };
}

/** The part of the glue's `PThread` object that the typings of tfjs-backend-wasm leave out. */
interface PthreadPool {
  unusedWorkers: NodeWorker[];
}

/**
 * Terminates the pooled workers no pthread runs on. The glue starts PTHREAD_POOL_SIZE of them
 * whatever the thread count, each an isolate of about 40 MB; XNNPACK creates its threads once, when
 * the backend is constructed, and tfjs starts no other pthreads, so the idle ones are never used.
 * Should a pthread start later anyway, the glue spawns a fresh worker for it.
 */
export function releaseIdleWorkers(module: object): void {
  const pool = (module as { PThread?: PthreadPool }).PThread;
  if (!pool) return;
  for (const worker of pool.unusedWorkers) void worker.terminate();
  pool.unusedWorkers = [];
}

function timeout(ms: number): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`pthread workers did not load within ${ms} ms`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Runs `init` (which must create the threaded Emscripten module) with Node-capable pthread
 * workers. Rejects when a worker fails or `timeoutMs` passes first, after terminating the workers.
 */
export async function withNodePthreads<T>(init: () => Promise<T>, options: PthreadStartOptions): Promise<T> {
  if (watch) throw new Error('another threaded wasm start is in progress');
  const current = (watch = new InitWatch(options.fault));
  const original = workerThreads.Worker;
  workerThreads.Worker = PthreadWorker;
  const deadline = timeout(options.timeoutMs);
  try {
    // Called inside the try: the glue may create workers synchronously, and may throw doing so.
    const started = init();
    started.catch(() => undefined); // if the race is lost, the module is abandoned
    const result = await Promise.race([started, current.failed, deadline.promise]);
    current.succeeded();
    return result;
  } catch (err) {
    current.abandon();
    throw err;
  } finally {
    deadline.cancel();
    workerThreads.Worker = original;
    watch = undefined;
  }
}
