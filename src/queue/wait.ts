/**
 * Waiting for a set of jobs to finish and collecting their results. Queue events say when a job
 * finishes; each job's state is then read from Redis, which is the record, so an event missed
 * (the waiter started late, or reconnected) is caught by the slower re-check of every pending job.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';
import { connectionOptions, QUEUE_NAME, unreachable } from './connection';
import type { JobData, JobResult } from './jobs';

export type Outcome<R extends JobResult = JobResult> = { id: string; ok: true; result: R } | { id: string; ok: false; error: string };

/** How often every pending job is read again, whatever the events said. */
const RECHECK_INTERVAL_MS = 5_000;
/** Jobs read per Redis round trip. */
const BATCH = 500;

/** A job's outcome if it has finished; undefined while it waits or runs. */
async function readOutcome<R extends JobResult>(queue: Queue, id: string): Promise<Outcome<R> | undefined> {
  const job = (await queue.getJob(id)) as Job<JobData, R> | undefined;
  if (!job) return { id, ok: false, error: `job ${id} is no longer on the queue (removed by hand, or finished too long ago)` };
  const state = await job.getState();
  if (state === 'completed') return { id, ok: true, result: job.returnvalue };
  if (state === 'failed') return { id, ok: false, error: job.failedReason };
  return undefined;
}

/**
 * Resolves with every job's outcome, in the order of `ids`, once all have finished;
 * `onFinished` sees each as it comes (for a progress bar). A wait can last hours, so its
 * connections ride out a Redis restart as a worker's do.
 */
export async function waitForJobs<R extends JobResult>(
  url: string,
  ids: string[],
  onFinished: (outcome: Outcome<R>) => void,
): Promise<Outcome<R>[]> {
  const outcomes = new Map<string, Outcome<R>>();
  const pending = new Set(ids);
  const queue = new Queue(QUEUE_NAME, { connection: connectionOptions(url, true) });
  const events = new QueueEvents(QUEUE_NAME, { connection: connectionOptions(url, true) });
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  try {
    await events.waitUntilReady();
    await new Promise<void>((resolve, reject) => {
      const settle = (outcome: Outcome<R> | undefined) => {
        if (!outcome || !pending.delete(outcome.id)) return;
        outcomes.set(outcome.id, outcome);
        onFinished(outcome);
        if (pending.size === 0) finish(resolve);
      };
      const check = async (batch: string[]) => {
        for (let i = 0; i < batch.length; i += BATCH) {
          const read = await Promise.all(batch.slice(i, i + BATCH).map((id) => readOutcome<R>(queue, id)));
          read.forEach(settle);
        }
      };
      const fail = (err: unknown) => finish(() => reject(unreachable(url, err)));
      const onEvent = ({ jobId }: { jobId: string }) => {
        if (pending.has(jobId)) check([jobId]).catch(fail);
      };
      const timer = setInterval(() => check([...pending]).catch(fail), RECHECK_INTERVAL_MS);
      const finish = (done: () => void) => {
        clearInterval(timer);
        events.off('completed', onEvent);
        events.off('failed', onEvent);
        done();
      };
      events.on('completed', onEvent);
      events.on('failed', onEvent);
      // Listening first, then reading: a job finishing in between is seen one way or the other.
      if (pending.size === 0) finish(resolve);
      else check([...pending]).catch(fail);
    });
  } finally {
    await events.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
  return ids.map((id) => outcomes.get(id)!);
}
