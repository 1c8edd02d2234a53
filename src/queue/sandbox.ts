/**
 * The process that runs a worker's jobs, forked by BullMQ (a sandboxed processor) and kept for
 * job after job, so its models stay loaded. The computing happens here rather than in the
 * worker's own process because the worker renews its job locks on its event loop: a long
 * synchronous step there (tfjs on a loaded machine) would let a lock lapse and a live job be taken
 * for dead. The worker passes its options in SANDBOX_ENV.
 */
import type { SandboxedJob } from 'bullmq';
import { initBackend } from '../runtime/tfjs';
import type { JobData, JobResult } from './jobs';
import { runJob, SANDBOX_ENV, UpscalerCache, type SandboxOptions } from './run-job';

// A worker that dies (SIGKILL) closes this process's IPC channel: stop at once rather than finish
// a job that another worker is about to be given.
process.on('disconnect', () => process.exit(1));

let cache: Promise<UpscalerCache> | undefined;

async function start(): Promise<UpscalerCache> {
  const options = JSON.parse(process.env[SANDBOX_ENV] ?? '{}') as SandboxOptions;
  await initBackend({ backend: options.backend, threads: options.threads, nativeConv: options.nativeConv });
  return new UpscalerCache({ threads: options.threads, device: options.device });
}

export default async function processJob(job: SandboxedJob<JobData, JobResult>): Promise<JobResult> {
  cache ??= start();
  const recovered = job.attemptsStarted > 1 || job.stalledCounter > 0;
  return runJob(job.data, recovered, await cache);
}
