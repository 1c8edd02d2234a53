/**
 * `sr worker`: takes jobs from the queue until stopped or, with `exitWhenIdleSeconds`, until the
 * queue has had no waiting or active job for that long. The jobs run in child processes (BullMQ
 * sandboxed processors, one per concurrent job, kept for job after job so models load once); this
 * process only holds the connection and renews the job locks, so it never looks dead while busy.
 */
import * as path from 'path';
import { Queue, Worker } from 'bullmq';
import { firstLine } from '../core/errors';
import type { BackendOptions } from '../runtime/tfjs';
import {
  connectionOptions,
  displayUrl,
  LOCK_DURATION_MS,
  MAX_STALLED_COUNT,
  openQueue,
  QUEUE_NAME,
  STALLED_INTERVAL_MS,
  unreachable,
} from './connection';
import type { JobData, JobResult } from './jobs';
import { SANDBOX_ENV, type MachineOptions, type SandboxOptions } from './run-job';

export interface WorkerOptions extends MachineOptions {
  url: string;
  /** Jobs run at once (each in its own child process, with its own copy of the models). */
  concurrency: number;
  /** The tfjs backend of the child processes, as for a local run. */
  backend?: BackendOptions;
  exitWhenIdleSeconds?: number;
  /** One line per finished or failed job. */
  log: (line: string) => void;
}

export interface WorkerSummary {
  completed: number;
  failed: number;
}

/** How often the worker checks Redis is there and, with exitWhenIdleSeconds, whether work is left. */
const WATCH_INTERVAL_MS = 500;

/**
 * The sandbox's file and how to fork it: the compiled .js normally; the .ts source through
 * ts-node when sr itself runs from source (SR_TS=1).
 */
function sandboxProcess(options: WorkerOptions): { file: string; fork: { env: NodeJS.ProcessEnv; execArgv?: string[] } } {
  const fromSource = path.extname(__filename) === '.ts';
  const sandbox: SandboxOptions = { ...options.backend, threads: options.threads, device: options.device };
  return {
    file: path.join(__dirname, `sandbox${fromSource ? '.ts' : '.js'}`),
    fork: {
      env: { ...process.env, [SANDBOX_ENV]: JSON.stringify(sandbox) },
      ...(fromSource ? { execArgv: ['-r', 'ts-node/register/transpile-only'] } : {}),
    },
  };
}

/** Jobs not yet finished, a killed worker's job included (it stays active until recovered). */
async function unfinishedCount(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Returns when the queue has been idle for `idleSeconds` (never without it) or on `signal`; throws
 * when Redis is gone for good, so a worker whose server vanished exits instead of hanging.
 */
async function watchQueue(queue: Queue, url: string, idleSeconds: number | undefined, signal: AbortSignal): Promise<void> {
  let idleSince: number | undefined;
  while (!signal.aborted) {
    let unfinished: number;
    try {
      unfinished = await unfinishedCount(queue);
    } catch (err) {
      throw unreachable(url, err);
    }
    if (unfinished > 0 || idleSeconds === undefined) idleSince = undefined;
    else if (Date.now() - (idleSince ??= Date.now()) >= idleSeconds * 1000) return;
    await pause(WATCH_INTERVAL_MS, signal);
  }
}

/** Stops gracefully on the first SIGINT/SIGTERM (the running jobs finish), at once on the second. */
function onStopSignal(stop: () => void): () => void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(signal === 'SIGINT' ? 130 : 143);
    signalled = true;
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  // Checked with a connection that does not retry, so a wrong URL fails at once.
  await (await openQueue(options.url)).close();
  options.log(`worker on ${displayUrl(options.url)}, ${options.concurrency} job(s) at a time`);
  const queue = new Queue(QUEUE_NAME, { connection: connectionOptions(options.url, true) });
  queue.on('error', () => undefined);
  const sandbox = sandboxProcess(options);
  const summary: WorkerSummary = { completed: 0, failed: 0 };
  const worker = new Worker<JobData, JobResult>(QUEUE_NAME, sandbox.file, {
    connection: connectionOptions(options.url, true),
    workerForkOptions: sandbox.fork,
    concurrency: options.concurrency,
    lockDuration: LOCK_DURATION_MS,
    stalledInterval: STALLED_INTERVAL_MS,
    maxStalledCount: MAX_STALLED_COUNT,
  });
  worker.on('completed', (job) => {
    summary.completed++;
    options.log(`done ${describeJob(job.data)}`);
  });
  worker.on('failed', (_job, err) => {
    summary.failed++;
    options.log(`failed: ${firstLine(err)}`);
  });
  // Connection trouble is retried by BullMQ and, when final, reported by watchQueue.
  worker.on('error', () => undefined);
  const stopped = new AbortController();
  const removeSignalHandler = onStopSignal(() => stopped.abort());
  try {
    await watchQueue(queue, options.url, options.exitWhenIdleSeconds, stopped.signal);
  } finally {
    removeSignalHandler();
    await worker.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
  return summary;
}

function describeJob(data: JobData): string {
  return data.kind === 'upscale' ? `${data.input} -> ${data.output}` : `${data.file} (scored)`;
}
