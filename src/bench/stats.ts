/** Timing helpers: warm-up runs, then one wall-clock sample per repetition, summarised by the median. */
import * as fs from 'fs';

export interface Samples {
  /** Median of `samples`: what the bench reports (robust to a stray slow run on a shared machine). */
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarise(samples: number[]): Samples {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples };
}

export interface TimeOptions {
  /** Untimed runs before the timed ones... */
  warmup: number;
  /**
   * ...continued until this much time has passed. V8 first runs WebAssembly through its baseline
   * compiler and swaps in optimised code for hot functions while the program runs (compiling on
   * background threads, which compete with the kernels), so the first seconds of any new workload
   * are slower than its steady state.
   */
  warmupMs?: number;
  reps: number;
}

export interface TimedSamples extends Samples {
  /** Warm-up runs actually made. */
  warmupRuns: number;
}

/**
 * Runs `run` `warmup` times untimed, then `reps` times timed; returns the samples in milliseconds.
 * `run` must finish its work before it resolves (read results back: tfjs may compute lazily).
 */
export async function timeRuns(run: () => unknown | Promise<unknown>, options: TimeOptions): Promise<TimedSamples> {
  if (!(options.reps >= 1)) throw new Error('at least one repetition is needed');
  const warmStart = performance.now();
  let warmupRuns = 0;
  while (warmupRuns < options.warmup || performance.now() - warmStart < (options.warmupMs ?? 0)) {
    await run();
    warmupRuns++;
  }
  const samples: number[] = [];
  for (let i = 0; i < options.reps; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return { ...summarise(samples), warmupRuns };
}

/** Rounds for display and JSON: enough digits for a millisecond timing, none of the float noise. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * How busy the rest of the machine was while something ran: CPU time of all processes (from
 * /proc/stat) minus this process's own (workers included), in cores on average. Linux only;
 * elsewhere `stop` returns null. A figure well above 0 means the timings were taken on a shared,
 * busy machine and are slower than it can do.
 */
export function otherCpuMonitor(): { stop(): number | null } {
  const read = (): number | null => {
    try {
      const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
      const ticks = 100; // USER_HZ, 100 on every Linux build Node runs on
      const busy = fields.reduce((a: number, b: number) => a + b, 0) - fields[3] - (fields[4] ?? 0);
      return busy / ticks;
    } catch {
      return null;
    }
  };
  const busy0 = read();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop() {
      const busy1 = read();
      if (busy0 === null || busy1 === null) return null;
      const own = process.cpuUsage(own0);
      const ownSeconds = (own.user + own.system) / 1e6;
      const seconds = (performance.now() - t0) / 1000;
      if (seconds <= 0) return null;
      return round(Math.max(0, (busy1 - busy0 - ownSeconds) / seconds), 2);
    },
  };
}
