/**
 * Putting jobs on the queue without doing work twice. A job whose id is already there is left
 * as it is while it waits or runs, and counts as done once completed (its output still there);
 * a failed one, or a completed one whose output has gone, runs again.
 */
import * as fs from 'fs';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { jobId, type JobData, type JobResult } from './jobs';

/** Finished jobs stay this long, so a later `--wait` or re-enqueue still finds their results. */
export const KEEP_FINISHED_SECONDS = 7 * 24 * 3600;

/** Jobs looked up or added per Redis round trip. */
const BATCH = 500;

export interface EnqueueCounts {
  /** New jobs. */
  added: number;
  /** Already waiting or running. */
  pending: number;
  /** Completed before, output still there. */
  done: number;
  /** Failed before (or completed with the output since removed), queued again. */
  again: number;
}

export interface Enqueued {
  /** The id of each job, in the order given. */
  ids: string[];
  counts: EnqueueCounts;
}

const JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { age: KEEP_FINISHED_SECONDS },
  removeOnFail: { age: KEEP_FINISHED_SECONDS },
};

/** The file a job writes, when it writes one: gone means the job has to run again. */
function writtenFile(data: JobData): string | undefined {
  if (data.kind === 'upscale') return data.output;
  return undefined;
}

type Existing = 'none' | 'pending' | 'done' | 'again';

async function classify(job: Job<JobData, JobResult> | undefined): Promise<Existing> {
  if (!job) return 'none';
  const state = await job.getState();
  if (state === 'failed') return 'again';
  if (state !== 'completed') return state === 'unknown' ? 'none' : 'pending';
  const file = writtenFile(job.data);
  return file && !fs.existsSync(file) ? 'again' : 'done';
}

async function enqueueBatch(queue: Queue, batch: { id: string; data: JobData }[], counts: EnqueueCounts): Promise<void> {
  const existing = await Promise.all(batch.map(({ id }) => queue.getJob(id) as Promise<Job<JobData, JobResult> | undefined>));
  const kinds = await Promise.all(existing.map(classify));
  const fresh = batch.filter((_, i) => kinds[i] === 'none');
  await queue.addBulk(fresh.map(({ id, data }) => ({ name: data.kind, data, opts: { ...JOB_OPTIONS, jobId: id } })));
  counts.added += fresh.length;
  for (const [i, kind] of kinds.entries()) {
    if (kind === 'pending') counts.pending++;
    if (kind === 'done') counts.done++;
    if (kind === 'again') {
      const job = existing[i]!;
      await job.retry((await job.getState()) === 'completed' ? 'completed' : 'failed');
      counts.again++;
    }
  }
}

export async function enqueueJobs(queue: Queue, jobs: JobData[]): Promise<Enqueued> {
  const entries = jobs.map((data) => ({ id: jobId(data), data }));
  const counts: EnqueueCounts = { added: 0, pending: 0, done: 0, again: 0 };
  for (let i = 0; i < entries.length; i += BATCH) await enqueueBatch(queue, entries.slice(i, i + BATCH), counts);
  return { ids: entries.map((e) => e.id), counts };
}

/** The line a command prints after enqueuing. */
export function describeEnqueued(counts: EnqueueCounts, total: number, where: string): string {
  const extra = [
    counts.pending ? `${counts.pending} already queued` : '',
    counts.done ? `${counts.done} already done` : '',
    counts.again ? `${counts.again} queued again` : '',
  ].filter(Boolean);
  return `queued ${counts.added + counts.again} of ${total} job(s) on ${where}` + (extra.length ? ` (${extra.join(', ')})` : '');
}
