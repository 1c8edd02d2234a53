/**
 * `sr data` end to end: the real bin/sr in a child process (see test/helpers/cli.ts),
 * datasets in a temp SR_DATA_DIR, archives from a local server.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { expectOneLineError as expectOneLine, runSr, type Run } from '../helpers/cli';
import { makeSelfExSrZip, makeZip } from './archive-zip-writer';
import { startTestServer, type TestServer } from './download-server';

const SET5_ZIP = makeSelfExSrZip(['img_001', 'img_002', 'img_003', 'img_004', 'img_005']);
const SET5_SHA = createHash('sha256').update(SET5_ZIP).digest('hex');
/** DIV2K_train_HR.zip's layout: 0001.png … 0800.png in DIV2K_train_HR/, a few bytes each. */
const DIV2K_TRAIN_IMAGES = Array.from({ length: 800 }, (_, i) => `${String(i + 1).padStart(4, '0')}.png`);
const DIV2K_TRAIN_ZIP = makeZip([
  { name: 'DIV2K_train_HR/' },
  ...DIV2K_TRAIN_IMAGES.map((n) => ({ name: `DIV2K_train_HR/${n}`, data: n })),
]);
const DIV2K_TRAIN_SHA = createHash('sha256').update(DIV2K_TRAIN_ZIP).digest('hex');

let dataDir: string;
let server: TestServer;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-data-cli-'));
  server = await startTestServer({ '/set5.zip': { body: SET5_ZIP }, '/DIV2K_train_HR.zip': { body: DIV2K_TRAIN_ZIP } });
});

afterAll(async () => {
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function sr(...args: string[]): Promise<Run> {
  return runSr(args, { SR_DATA_DIR: dataDir });
}

function expectOneLineError(run: Run): void {
  expectOneLine(run);
  expect(run.stderr.startsWith('sr: ')).toBe(true);
}

test('data list --json, download with --url/--sha256, then list shows it downloaded', async () => {
  const before = await sr('data', 'list', '--json');
  expect(before.code).toBe(0);
  const listed = JSON.parse(before.stdout) as Array<Record<string, unknown>>;
  expect(listed.map((d) => d.name)).toEqual(['set5', 'set14', 'bsd100', 'urban100', 'div2k-train', 'div2k-valid']);
  expect(listed.every((d) => d.downloaded === false)).toBe(true);
  expect(listed.find((d) => d.name === 'set5')).toMatchObject({
    sha256: null,
    imageCount: 5,
    dir: path.join(dataDir, 'set5'),
  });
  expect(listed.find((d) => d.name === 'div2k-valid')).toMatchObject({
    url: 'https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip',
    archiveBytes: 448_993_893,
  });
  expect(listed.find((d) => d.name === 'div2k-train')).toMatchObject({
    url: 'https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip',
    imageCount: 800,
    dir: path.join(dataDir, 'div2k-train'),
  });

  const download = await sr('data', 'download', 'set5', '--url', server.url('/set5.zip'), '--sha256', SET5_SHA, '--json');
  expect(download.stderr).toBe('');
  expect(download.code).toBe(0);
  expect(JSON.parse(download.stdout)).toMatchObject({
    name: 'set5',
    hrDir: path.join(dataDir, 'set5', 'HR'),
    imageCount: 5,
    sha256: SET5_SHA,
    checksum: 'user-supplied',
    alreadyPresent: false,
  });
  expect(fs.readdirSync(path.join(dataDir, 'set5', 'HR')).sort()).toEqual(
    ['img_001', 'img_002', 'img_003', 'img_004', 'img_005'].map((n) => `${n}.png`),
  );

  const after = JSON.parse((await sr('data', 'list', '--json')).stdout) as Array<Record<string, unknown>>;
  expect(after.find((d) => d.name === 'set5')).toMatchObject({ downloaded: true, installed: { imageCount: 5, sha256: SET5_SHA } });
  expect(after.filter((d) => d.downloaded).map((d) => d.name)).toEqual(['set5']);
});

test('div2k --split train installs the 800 training images as div2k-train; --split on a set without splits exits 2', async () => {
  const [train, noSplits] = await Promise.all([
    sr('data', 'download', 'div2k', '--split', 'train', '--url', server.url('/DIV2K_train_HR.zip'), '--sha256', DIV2K_TRAIN_SHA, '--json'),
    sr('data', 'download', 'set5', '--split', 'train'),
  ]);
  expect(train.stderr).toBe('');
  expect(JSON.parse(train.stdout)).toMatchObject({
    name: 'div2k-train',
    hrDir: path.join(dataDir, 'div2k-train', 'HR'),
    imageCount: 800,
  });
  expect(fs.readdirSync(path.join(dataDir, 'div2k-train', 'HR')).sort()).toEqual(DIV2K_TRAIN_IMAGES);

  expect(noSplits.code).toBe(2);
  expectOneLineError(noSplits);
  expect(noSplits.stderr).toBe("sr: dataset 'set5' has no splits; --split is for div2k\n");
});

// The failing runs are independent, so they run side by side: each start-up costs seconds.
test('failures: checksum mismatch and missing SHA-256 exit 1, unknown name exits 2, each with one line', async () => {
  const wrong = 'f'.repeat(64);
  const requestsBefore = server.requests.length;
  const [mismatch, unknown, noChecksum] = await Promise.all([
    sr('data', 'download', 'set14', '--url', server.url('/set5.zip'), '--sha256', wrong),
    sr('data', 'download', 'set6'),
    sr('data', 'download', 'urban100', '--url', server.url('/set5.zip')),
  ]);

  expect(mismatch.code).toBe(1);
  expectOneLineError(mismatch);
  expect(mismatch.stderr).toContain(`expected sha256 ${wrong}`);
  expect(mismatch.stderr).toContain(`got ${SET5_SHA}`);
  expect(fs.existsSync(path.join(dataDir, 'set14'))).toBe(false);

  expect(unknown.code).toBe(2);
  expectOneLineError(unknown);
  expect(unknown.stderr).toContain('set5, set14, bsd100, urban100, div2k-train, div2k-valid');

  expect(noChecksum.code).toBe(2);
  expectOneLineError(noChecksum);
  expect(noChecksum.stderr).toMatch(/--sha256 HEX.*--insecure-skip-checksum/);
  // Only the set14 run fetched anything; urban100 refused before downloading.
  expect(server.requests.length - requestsBefore).toBe(1);
  expect(fs.existsSync(path.join(dataDir, 'urban100'))).toBe(false);
});
