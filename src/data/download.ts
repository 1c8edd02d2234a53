/**
 * Fetches one file over HTTP(S) to disk, for datasets and model weights alike (nothing here knows
 * what the file is). Bytes go to `<dest>.part`; a later call resumes it with a Range request, a
 * dropped connection is retried from where it stopped, and `<dest>` appears only once the whole
 * file is there and, when a SHA-256 is given, matches it.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { SrError } from '../core/errors';
import { fileSizeOrZero, humanBytes, removePath, sha256File } from '../core/fsutil';

export interface DownloadOptions {
  /** Expected SHA-256 in hex. On a mismatch the file is deleted and an SrError names both hashes. */
  sha256?: string;
  /** Called as bytes arrive with the bytes on disk so far; `total` is undefined if the server does not say. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Cancels the transfer; the `.part` file is kept so the next call resumes it. */
  signal?: AbortSignal;
  /** Give up on a connection that stays silent this long (default 30 000 ms). */
  timeoutMs?: number;
  /** Redirects followed per request (default 5). */
  maxRedirects?: number;
  /** Extra attempts after a dropped connection, a timeout or a 5xx, each resuming where the last stopped (default 3). */
  retries?: number;
  /** Pause before the first retry, growing linearly with each further one (default 1000 ms). */
  retryDelayMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** SHA-256 of the file, computed whether or not one was expected. */
  sha256: string;
}

const DEFAULTS = { timeoutMs: 30_000, maxRedirects: 5, retries: 3, retryDelayMs: 1000 };

/** A failure of the connection rather than of the request itself: worth another (resumed) attempt. */
class TransferInterrupted extends Error {
  override name = 'TransferInterrupted';
}

export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const opts: Options = { ...options, ...resolveDefaults(options) };
  const source = parseHttpUrl(url);
  const part = `${dest}.part`;
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });

  for (let attempt = 0; ; attempt++) {
    throwIfCancelled(opts.signal);
    try {
      await transferOnce(source, part, opts);
      break;
    } catch (err) {
      if (!(err instanceof TransferInterrupted)) throw err;
      if (attempt >= opts.retries) {
        const kept = await fileSizeOrZero(part);
        throw new SrError(`download of ${url} failed: ${err.message} (${humanBytes(kept)} kept; run again to resume)`);
      }
      await sleep(opts.retryDelayMs * (attempt + 1), opts.signal);
    }
  }

  const actual = await sha256File(part);
  const expected = opts.sha256?.toLowerCase();
  if (expected && actual !== expected) {
    await removePath(part);
    throw new SrError(`checksum mismatch for ${url}: expected sha256 ${expected}, got ${actual}; the download was deleted`);
  }
  await fs.promises.rename(part, dest);
  return { path: dest, bytes: await fileSizeOrZero(dest), sha256: actual };
}

type Options = typeof DEFAULTS & DownloadOptions;

/**
 * One request: continues `part` from its current size when the server honours Range, starts over
 * when it does not. Throws TransferInterrupted for failures worth retrying.
 */
async function transferOnce(source: URL, part: string, opts: Options): Promise<void> {
  const offset = await fileSizeOrZero(part);
  const { res, idle } = await requestFollowingRedirects(source, offset, opts);
  const status = res.statusCode ?? 0;

  if (status === 416 && offset > 0) {
    res.resume();
    // The part may already hold the whole file (a run that died before renaming it).
    if (totalFromContentRange(res.headers['content-range']) === offset) return;
    await removePath(part);
    return transferOnce(source, part, opts);
  }
  if (status === 206) {
    const range = parseContentRange(res.headers['content-range']);
    if (!range || range.start !== offset) {
      // A range we did not ask for cannot be appended; fetch the whole file instead.
      res.destroy();
      await removePath(part);
      return transferOnce(source, part, opts);
    }
    return writeBody(res, part, offset, range.total, opts, idle);
  }
  if (status === 200) {
    // Either a fresh download or a server that ignores Range: both mean "start from byte 0".
    return writeBody(res, part, 0, contentLength(res), opts, idle);
  }
  res.resume();
  const message = `HTTP ${status}${res.statusMessage ? ' ' + res.statusMessage : ''} from ${source.href}`;
  if (status >= 500) throw new TransferInterrupted(message);
  throw new SrError(`download failed: ${message}`);
}

async function writeBody(
  res: http.IncomingMessage,
  part: string,
  start: number,
  total: number | undefined,
  opts: Options,
  idle: IdleState,
): Promise<void> {
  let received = start;
  opts.onProgress?.(received, total);
  try {
    await saveBody(res, part, start > 0, (chunkLength) => {
      received += chunkLength;
      opts.onProgress?.(received, total);
    });
  } catch (err) {
    throwIfCancelled(opts.signal);
    if (err instanceof SrError) throw err;
    const why = idle.timedOut ? `no data for ${opts.timeoutMs / 1000} s` : 'connection lost';
    throw new TransferInterrupted(`${why} after ${describeProgress(received, total)} (${(err as Error).message})`);
  }
  if (total !== undefined && received !== total) {
    throw new TransferInterrupted(`connection closed after ${describeProgress(received, total)}`);
  }
}

/**
 * Streams the body into the file. When the connection breaks, the file is still flushed and closed
 * (stream.pipeline would destroy it with its queued writes), so a resume starts right after what
 * was saved; only bytes the paused response still held in memory are fetched again.
 */
function saveBody(res: http.IncomingMessage, file: string, append: boolean, onChunk: (length: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file, { flags: append ? 'a' : 'w' });
    let failure: Error | undefined;
    let ending = false;
    const finish = () => {
      if (!ending) {
        ending = true;
        out.end();
      }
    };
    res.on('data', (chunk: Buffer) => {
      onChunk(chunk.length);
      if (!out.write(chunk)) res.pause();
    });
    out.on('drain', () => res.resume());
    res.on('error', (err) => (failure ??= err));
    res.on('end', finish);
    res.on('close', () => {
      if (!res.complete) failure ??= new Error('the response ended early');
      finish();
    });
    out.on('error', (err) => {
      res.destroy();
      // The disk failed, not the network (ENOSPC, EIO, EROFS...): another attempt would only fail
      // the same way, so this is not a TransferInterrupted. What was written stays for a resume.
      reject(new SrError(`cannot write ${file}: ${err.message} (run again to resume once that is fixed)`));
    });
    out.on('close', () => (failure ? reject(failure) : resolve()));
  });
}

interface IdleState {
  timedOut: boolean;
}

function requestFollowingRedirects(
  url: URL,
  offset: number,
  opts: Options,
  redirectsLeft = opts.maxRedirects,
): Promise<{ res: http.IncomingMessage; idle: IdleState }> {
  const idle: IdleState = { timedOut: false };
  const headers: http.OutgoingHttpHeaders = {
    'user-agent': 'sr-downloader',
    // Byte ranges only make sense on the bytes as stored, not on a re-encoded transfer.
    'accept-encoding': 'identity',
  };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const client = url.protocol === 'https:' ? https : http;

  return new Promise((resolve, reject) => {
    const req = client.get(url, { headers, signal: opts.signal }, (res) => {
      const location = res.headers.location;
      if (isRedirect(res.statusCode) && location) {
        res.resume();
        if (redirectsLeft <= 0) {
          reject(new SrError(`download failed: more than ${opts.maxRedirects} redirects from ${url.href}`));
          return;
        }
        let next: URL;
        try {
          next = parseHttpUrl(new URL(location, url).href);
        } catch (err) {
          reject(err);
          return;
        }
        resolve(requestFollowingRedirects(next, offset, opts, redirectsLeft - 1));
        return;
      }
      resolve({ res, idle });
    });
    req.setTimeout(opts.timeoutMs, () => {
      idle.timedOut = true;
      req.destroy(new TransferInterrupted(`no answer from ${url.host} in ${opts.timeoutMs / 1000} s`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (opts.signal?.aborted) reject(new SrError('download cancelled'));
      else if (err instanceof TransferInterrupted) reject(err);
      else if (err.code === 'ENOTFOUND' || err.code === 'ECONNREFUSED') {
        reject(new SrError(`download failed: cannot connect to ${url.host} (${err.code})`));
      } else reject(new TransferInterrupted(`${err.code ?? err.message} from ${url.host}`));
    });
  });
}

/** The defaults, overridden by every option that is actually set (an explicit `undefined` is not). */
function resolveDefaults(options: DownloadOptions): typeof DEFAULTS {
  const merged = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    const value = options[key];
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SrError(`not a valid URL: '${url}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SrError(`only http and https downloads are supported, got '${url}'`);
  }
  return parsed;
}

function isRedirect(status: number | undefined): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function contentLength(res: http.IncomingMessage): number | undefined {
  const value = Number(res.headers['content-length']);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** `bytes START-END/TOTAL` → {start, total}; TOTAL may be `*` (unknown). */
function parseContentRange(header: string | undefined): { start: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

/** The TOTAL of `bytes * /TOTAL`, the form a 416 answer uses. */
function totalFromContentRange(header: string | undefined): number | undefined {
  const match = /\/(\d+)$/.exec(header?.trim() ?? '');
  return match ? Number(match[1]) : undefined;
}

function describeProgress(received: number, total: number | undefined): string {
  return total === undefined ? humanBytes(received) : `${humanBytes(received)} of ${humanBytes(total)}`;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SrError('download cancelled');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SrError('download cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
