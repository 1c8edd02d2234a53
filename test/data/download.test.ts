import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { downloadFile } from '../../src/data/download';
import { SrError } from '../../src/core/errors';
import { startTestServer, type TestServer } from './download-server';

const BODY = randomBytes(256 * 1024);
const BODY_SHA = createHash('sha256').update(BODY).digest('hex');
const FAST = { retryDelayMs: 10, timeoutMs: 2000 };

let dir: string;
let server: TestServer | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-download-'));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function rangeStart(range: string | undefined): number | undefined {
  if (range === undefined) return undefined;
  const match = /^bytes=(\d+)-$/.exec(range);
  if (!match) throw new Error(`unexpected Range header '${range}'`);
  return Number(match[1]);
}

function dest(): string {
  return path.join(dir, 'file.bin');
}

test('downloads a file, reports progress up to the total and returns its SHA-256', async () => {
  server = await startTestServer({ '/file': { body: BODY } });
  const seen: Array<[number, number | undefined]> = [];
  const result = await downloadFile(server.url('/file'), dest(), {
    ...FAST,
    sha256: BODY_SHA,
    onProgress: (received, total) => seen.push([received, total]),
  });
  expect(result).toEqual({ path: dest(), bytes: BODY.length, sha256: BODY_SHA });
  expect(fs.readFileSync(dest()).equals(BODY)).toBe(true);
  expect(fs.existsSync(dest() + '.part')).toBe(false);
  expect(seen[seen.length - 1]).toEqual([BODY.length, BODY.length]);
  const counts = seen.map(([received]) => received);
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
});

test('options passed as undefined fall back to the defaults', async () => {
  server = await startTestServer({ '/file': { body: BODY } });
  const unset = { timeoutMs: undefined, retries: undefined, retryDelayMs: undefined, maxRedirects: undefined };
  const result = await downloadFile(server.url('/file'), dest(), unset);
  expect(result.sha256).toBe(BODY_SHA);
});

test('a checksum mismatch deletes the download and names both hashes', async () => {
  server = await startTestServer({ '/file': { body: BODY } });
  const wrong = 'ab'.repeat(32);
  const error = await downloadFile(server.url('/file'), dest(), { ...FAST, sha256: wrong }).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toContain(wrong);
  expect(error.message).toContain(BODY_SHA);
  expect(error.message).not.toContain('\n');
  expect(fs.existsSync(dest())).toBe(false);
  expect(fs.existsSync(dest() + '.part')).toBe(false);
});

test('a transfer cut mid-body is resumed by the next call with a Range request', async () => {
  const cut = 100_000;
  server = await startTestServer({ '/file': { body: BODY, cutAfter: { bytes: cut, times: 1 } } });
  const first = await downloadFile(server.url('/file'), dest(), { ...FAST, retries: 0, sha256: BODY_SHA }).catch((e) => e);
  expect(first).toBeInstanceOf(SrError);
  expect(first.message).toMatch(/run again to resume/);
  expect(fs.existsSync(dest())).toBe(false);
  // Bytes still buffered in the paused response when the socket closed are lost; the rest is kept.
  const kept = fs.statSync(dest() + '.part').size;
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThanOrEqual(cut);
  expect(fs.readFileSync(dest() + '.part').equals(BODY.subarray(0, kept))).toBe(true);

  const result = await downloadFile(server.url('/file'), dest(), { ...FAST, retries: 0, sha256: BODY_SHA });
  expect(result.sha256).toBe(BODY_SHA);
  expect(fs.readFileSync(dest()).equals(BODY)).toBe(true);
  expect(server.requestsFor('/file').map((r) => r.range)).toEqual([undefined, `bytes=${kept}-`]);
});

test('a dropped connection is retried within the same call, resuming where it stopped', async () => {
  server = await startTestServer({ '/file': { body: BODY, cutAfter: { bytes: 50_000, times: 2 } } });
  const result = await downloadFile(server.url('/file'), dest(), { ...FAST, retries: 2, sha256: BODY_SHA });
  expect(result.sha256).toBe(BODY_SHA);
  // Each attempt resumes after the bytes the previous one saved; the third gets the rest.
  const starts = server.requestsFor('/file').map((r) => rangeStart(r.range));
  expect(starts).toHaveLength(3);
  expect(starts[0]).toBeUndefined();
  expect(starts[1]).toBeGreaterThan(0);
  expect(starts[2]).toBeGreaterThan(starts[1]!);
});

test('a server that ignores Range gets the whole file again instead of a corrupted append', async () => {
  server = await startTestServer({ '/file': { body: BODY, ranges: false, cutAfter: { bytes: 70_000, times: 1 } } });
  const result = await downloadFile(server.url('/file'), dest(), { ...FAST, retries: 1, sha256: BODY_SHA });
  expect(result.sha256).toBe(BODY_SHA);
  expect(fs.statSync(dest()).size).toBe(BODY.length);
  const starts = server.requestsFor('/file').map((r) => rangeStart(r.range));
  expect(starts).toHaveLength(2);
  expect(starts[1]).toBeGreaterThan(0);
});

test('416 on a .part that already holds the whole file completes without downloading again', async () => {
  server = await startTestServer({ '/file': { body: BODY } });
  fs.writeFileSync(dest() + '.part', BODY);
  const result = await downloadFile(server.url('/file'), dest(), { ...FAST, sha256: BODY_SHA });
  expect(result.sha256).toBe(BODY_SHA);
  expect(server.requestsFor('/file').map((r) => r.range)).toEqual([`bytes=${BODY.length}-`]);
});

test('416 on a .part longer than the file starts over from scratch', async () => {
  server = await startTestServer({ '/file': { body: BODY } });
  fs.writeFileSync(dest() + '.part', randomBytes(BODY.length + 10));
  const result = await downloadFile(server.url('/file'), dest(), { ...FAST, sha256: BODY_SHA });
  expect(result.sha256).toBe(BODY_SHA);
  expect(server.requestsFor('/file').map((r) => r.range)).toEqual([`bytes=${BODY.length + 10}-`, undefined]);
});

test('follows redirects up to the limit', async () => {
  server = await startTestServer({
    '/a': { redirect: '/b' },
    '/b': { redirect: '/file' },
    '/file': { body: BODY },
    '/loop': { redirect: '/loop' },
  });
  const result = await downloadFile(server.url('/a'), dest(), { ...FAST, sha256: BODY_SHA });
  expect(result.sha256).toBe(BODY_SHA);

  const error = await downloadFile(server.url('/loop'), dest(), { ...FAST, maxRedirects: 3 }).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toMatch(/more than 3 redirects/);
  expect(server.requestsFor('/loop')).toHaveLength(4);
});

test('a silent server times out instead of hanging', async () => {
  server = await startTestServer({ '/file': { body: BODY, stall: { times: 5 } } });
  const started = Date.now();
  const error = await downloadFile(server.url('/file'), dest(), { retries: 0, timeoutMs: 200 }).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toMatch(/no answer from 127\.0\.0\.1:\d+ in 0\.2 s/);
  expect(Date.now() - started).toBeLessThan(3000);
});

test('an HTTP error status fails at once with the status in the message', async () => {
  server = await startTestServer({ '/gone': { body: BODY, status: 404 } });
  const error = await downloadFile(server.url('/gone'), dest(), FAST).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toMatch(/HTTP 404/);
  expect(server.requestsFor('/gone')).toHaveLength(1);
  expect(fs.existsSync(dest())).toBe(false);
});

test('an AbortSignal cancels a request in flight', async () => {
  server = await startTestServer({ '/file': { body: BODY, stall: { times: 1 } } });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const error = await downloadFile(server.url('/file'), dest(), { ...FAST, signal: controller.signal }).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toBe('download cancelled');
});

test('refuses URLs that are not http or https', async () => {
  await expect(downloadFile('ftp://example.com/x.zip', dest())).rejects.toThrow(/only http and https/);
});
