/** `sr queue status`: how many jobs wait, run, are done and failed, and why each failure failed. */
import type { Queue } from 'bullmq';
import { openQueue } from './connection';
import { jobInput, type JobData } from './jobs';

export interface QueueStatus {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  /** Each failed job: the input it read and its one-line error. */
  failures: { id: string; input: string; error: string }[];
}

/** Failures listed at most; the count above says how many there are in all. */
export const MAX_FAILURES_LISTED = 1000;

async function failures(queue: Queue): Promise<QueueStatus['failures']> {
  const jobs = await queue.getFailed(0, MAX_FAILURES_LISTED - 1);
  return jobs
    .filter((job) => job !== undefined)
    .map((job) => ({ id: String(job.id), input: jobInput(job.data as JobData), error: job.failedReason }));
}

export async function queueStatus(url: string): Promise<QueueStatus> {
  const queue = await openQueue(url);
  try {
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    return {
      waiting: counts.waiting + counts.prioritized + counts.delayed,
      active: counts.active,
      completed: counts.completed,
      failed: counts.failed,
      failures: await failures(queue),
    };
  } finally {
    await queue.close().catch(() => undefined);
  }
}
