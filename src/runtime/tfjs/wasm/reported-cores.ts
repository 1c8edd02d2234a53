/**
 * The threaded wasm module sizes its thread pool from the core count it sees at start-up:
 * backend.cc sets `num_cores = emscripten_num_logical_cores() / 2` (it assumes two hyperthreads per
 * core) and caps `init_with_threads_count(n)` at that, so `setThreadsCount(n)` alone yields at most
 * half of the cores. Under Node the glue answers `emscripten_num_logical_cores()` with
 * `require('os').cpus().length`, read once by the module's static constructors during init.
 * Reporting `2 * threads` cores for that window lets the requested count through.
 */

// The module object itself: the glue calls `cpus` on it, so the override must be on this object.

const osModule: { cpus: typeof import('os').cpus } = require('os');

/**
 * Runs `init` while `os.cpus()` lists `count` entries (the real ones, repeated as needed).
 * Anything else calling `os.cpus()` during the window sees the same list.
 */
export async function withReportedCores<T>(count: number, init: () => Promise<T>): Promise<T> {
  const original = osModule.cpus;
  osModule.cpus = () => {
    const real = original();
    if (real.length === 0) return real; // nothing to repeat; the module then runs one thread
    return Array.from({ length: Math.max(count, 1) }, (_, i) => real[i % real.length]);
  };
  try {
    return await init();
  } finally {
    osModule.cpus = original;
  }
}
