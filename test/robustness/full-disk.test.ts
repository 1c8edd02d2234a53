/**
 * A full disk while installing a dataset, simulated by making the file system's writes fail with
 * ENOSPC at each stage (download, extraction, completion marker): the error says what happened,
 * nothing is marked complete, and once there is room again the same command completes.
 */
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import type { PathLike, WriteStream } from 'fs';
import type { Writable } from 'stream';
import { getDataset, datasetStatus } from '../../src/data/datasets';
import { MARKER_FILE, installDataset } from '../../src/data/install';
import { SrError } from '../../src/core/errors';
import { makeSelfExSrZip } from '../data/archive-zip-writer';
import { startTestServer, type TestServer } from '../data/download-server';

// The module object itself (not an import-star copy), so spies replace what src/ calls.

const fs = require('fs') as typeof import('fs');

const IMAGES = ['img_001', 'img_002', 'img_003', 'img_004', 'img_005'];
const ZIP = makeSelfExSrZip(IMAGES);
const SHA = createHash('sha256').update(ZIP).digest('hex');
const FAST = { retryDelayMs: 10, timeoutMs: 2000, retries: 2 };
const set5 = getDataset('set5');

let work: string;
let root: string;
let server: TestServer;

beforeEach(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-fulldisk-'));
  root = path.join(work, 'datasets');
  server = await startTestServer({ '/set5.zip': { body: ZIP } });
});

afterEach(async () => {
  jest.restoreAllMocks();
  await server.close();
  fs.rmSync(work, { recursive: true, force: true });
});

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** Write streams to paths `selected` picks accept `room` bytes, then fail as a full disk does. */
function fillDiskForStreams(selected: (file: string) => boolean, room: number): jest.SpyInstance {
  const real = fs.createWriteStream;
  return jest.spyOn(fs, 'createWriteStream').mockImplementation(((file: PathLike, options?: unknown) => {
    const stream = real.call(fs, file, options as never) as WriteStream & Writable;
    if (!selected(String(file))) return stream;
    let written = 0;
    const write = stream._write.bind(stream);
    stream._write = (chunk: Buffer, encoding: BufferEncoding, done: (err?: Error | null) => void) => {
      written += chunk.length;
      if (written > room) return done(enospc());
      write(chunk, encoding, done);
    };
    // One chunk at a time through the failing _write.
    stream._writev = undefined;
    return stream;
  }) as typeof fs.createWriteStream);
}

function leftovers(): string[] {
  return fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n.startsWith('.sr-tmp-')) : [];
}

function expectNotInstalled(): void {
  expect(datasetStatus(set5, root).marker).toBeNull();
  expect(fs.existsSync(path.join(root, 'set5', MARKER_FILE))).toBe(false);
  expect(leftovers()).toEqual([]);
}

async function installsOnceThereIsRoom(): Promise<void> {
  jest.restoreAllMocks();
  const result = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SHA });
  expect(result.marker.imageCount).toBe(5);
  expect(datasetStatus(set5, root).marker?.sha256).toBe(SHA);
}

test('during the download: a disk error, not a dropped connection, and nothing marked complete', async () => {
  const spy = fillDiskForStreams((f) => f.endsWith('.part'), 100);
  const error = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SHA }).catch((e) => e);
  expect(spy).toHaveBeenCalled();
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toMatch(/no space left on device|ENOSPC/);
  expect(error.message).not.toMatch(/connection/);
  // A full disk is not retried as if the network had failed.
  expect(server.requestsFor('/set5.zip')).toHaveLength(1);
  expect(fs.existsSync(path.join(root, 'set5'))).toBe(false);
  expectNotInstalled();
  await installsOnceThereIsRoom();
});

test('during extraction: the staging folder and the archive go, nothing is marked complete', async () => {
  const spy = fillDiskForStreams((f) => f.includes(`${path.sep}.sr-tmp-set5-`), 5);
  const error = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SHA }).catch((e) => e);
  expect(spy).toHaveBeenCalled();
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toMatch(/ENOSPC|no space left/);
  expect(fs.existsSync(path.join(root, 'set5'))).toBe(false);
  expectNotInstalled();
  await installsOnceThereIsRoom();
});

test('while writing the completion marker: the images are there but the dataset reads as absent', async () => {
  const realOpen = fs.promises.open;
  const spy = jest.spyOn(fs.promises, 'open').mockImplementation(async (file, ...rest) => {
    const handle = await realOpen(file, ...(rest as [string]));
    if (String(file).includes(MARKER_FILE)) {
      handle.writeFile = () => Promise.reject(enospc());
    }
    return handle;
  });
  const error = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SHA }).catch((e) => e);
  expect(spy).toHaveBeenCalled();
  expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  expectNotInstalled();
  // No temp marker file is left beside where the marker would be.
  expect(fs.readdirSync(path.join(root, 'set5')).filter((n) => n.includes(MARKER_FILE))).toEqual([]);
  await installsOnceThereIsRoom();
});
