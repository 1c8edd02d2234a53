/**
 * Reaching the job queue: a `redis://` URL checked before use, connection options that fail fast
 * when Redis is down (one line, exit 1, no endless reconnecting), and the lock and stall timings
 * every worker shares.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { firstLine, SrError, UsageError } from '../core/errors';

/** One BullMQ queue holds every job; its name is the Redis key prefix `bull:sr:`. */
export const QUEUE_NAME = 'sr';

/** How long a worker's lock on a job lasts; it renews it at half this while the job runs. */
export const LOCK_DURATION_MS = 6_000;
/**
 * How often workers look for jobs whose lock expired (their worker died). A SIGKILLed worker's job
 * goes back to waiting at most LOCK_DURATION_MS + STALLED_INTERVAL_MS after the kill.
 */
export const STALLED_INTERVAL_MS = 4_000;
/**
 * Stalls a job may survive before it fails: more than one, because a live worker cut off from
 * Redis for longer than the lock (a network partition) looks dead too, and its job should still
 * get done. (Jobs compute in child processes, so a busy worker keeps renewing its locks.)
 */
export const MAX_STALLED_COUNT = 3;

/** Waiting for Redis to answer at all; past it the command stops with one line. */
const CONNECT_TIMEOUT_MS = 3_000;
/** A worker that lost Redis after starting tries again this often, this many times, then exits. */
const RECONNECT_DELAY_MS = 1_000;
const RECONNECT_ATTEMPTS = 30;

const REDIS_SCHEMES = ['redis:', 'rediss:'];

/** Checks a queue URL's form (a usage error, exit 2); reaching it is checked on connection. */
export function parseQueueUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--queue: '${url}' is not a URL (expected redis://host:port[/db])`);
  }
  if (!REDIS_SCHEMES.includes(parsed.protocol)) {
    throw new UsageError(`--queue: '${url}' is not a redis:// or rediss:// URL`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new UsageError(`--queue: '${url}': the database after the port must be a number`);
  return url;
}

/** The URL without its password, for messages. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Connection options for BullMQ. A short-lived connection (enqueue, status, wait) never
 * reconnects, so a wrong URL or a stopped server is one error at once. A worker's `persistent`
 * connection is only made after a short-lived one has reached Redis (openQueue), and rides out a
 * Redis restart for about RECONNECT_ATTEMPTS seconds before giving up.
 */
export function connectionOptions(url: string, persistent = false): ConnectionOptions {
  return {
    url,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // BullMQ requires a worker's blocking connection to retry requests indefinitely.
    maxRetriesPerRequest: persistent ? null : 1,
    enableOfflineQueue: persistent,
    retryStrategy: (attempt: number) => (persistent && attempt <= RECONNECT_ATTEMPTS ? RECONNECT_DELAY_MS : null),
  };
}

/** A Redis failure as the one line the CLI prints. */
export function unreachable(url: string, err: unknown): SrError {
  return new SrError(`cannot reach Redis at ${displayUrl(url)}: ${firstLine(err)}`);
}

/**
 * BullMQ loads its Redis client, ioredis, only when it first connects, and says so in a message
 * about installing it; said here as the one line the CLI prints instead.
 */
function checkRedisClient(): void {
  try {
    require.resolve('ioredis');
  } catch {
    throw new SrError("the Redis client package 'ioredis' is not installed: run `npm install` in the sr folder");
  }
}

/** The queue, once Redis has answered; a one-line SrError when it does not. */
export async function openQueue(url: string): Promise<Queue> {
  checkRedisClient();
  const queue = new Queue(QUEUE_NAME, { connection: connectionOptions(url) });
  // Connection errors also arrive as events; without a listener Node would print them.
  queue.on('error', () => undefined);
  try {
    await queue.waitUntilReady();
  } catch (err) {
    await queue.close().catch(() => undefined);
    throw unreachable(url, err);
  }
  return queue;
}
