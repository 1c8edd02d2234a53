/**
 * Starting the tfjs WebAssembly backend under Node.
 *
 * Single-threaded for now; the multithreaded start lives here too once it exists.
 */
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

export interface WasmStart {
  threads: number;
  /** Why fewer threads than asked for run, when that happens. */
  note?: string;
}

export async function startWasm(requestedThreads: number): Promise<WasmStart> {
  setThreadsCount(1);
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('the wasm backend failed to initialise');
  await tf.ready();
  const threads = getThreadsCount();
  return {
    threads,
    note: requestedThreads > threads ? `single-threaded wasm (multithreading is not enabled)` : undefined,
  };
}

/** Lets the process exit: the wasm thread pool keeps Node alive otherwise. */
export function stopWasm(): void {
  /* nothing to stop while single-threaded */
}
