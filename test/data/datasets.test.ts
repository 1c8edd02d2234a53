import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import {
  DATASETS,
  datasetsRoot,
  datasetStatus,
  getDataset,
  getDatasetSplit,
  resolveDataset,
  type DatasetSpec,
} from '../../src/data/datasets';
import { selfExSrHrImageName } from '../../src/data/datasets/selfexsr';
import { MARKER_FILE, installDataset, readCompletionMarker } from '../../src/data/install';
import { SrError, UsageError } from '../../src/core/errors';
import { makeSelfExSrZip, makeZip } from './archive-zip-writer';
import { startTestServer, type TestServer } from './download-server';

const SET5_IMAGES = ['img_001', 'img_002', 'img_003', 'img_004', 'img_005'];
const SET5_ZIP = makeSelfExSrZip(SET5_IMAGES);
const SET5_SHA = sha256(SET5_ZIP);
const FAST = { retryDelayMs: 10, timeoutMs: 2000 };

let work: string;
let root: string;
let server: TestServer | undefined;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-datasets-'));
  root = path.join(work, 'datasets');
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  fs.rmSync(work, { recursive: true, force: true });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const set5 = getDataset('set5');

/** Names in the datasets root other than the dataset folders themselves (temp dirs, downloads). */
function leftovers(): string[] {
  return fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n.startsWith('.')) : [];
}

function filesNamed(dir: string, name: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((p) => path.basename(p) === name);
}

describe('installDataset', () => {
  test('downloads, extracts the ×4 HR images under plain names and writes the marker last', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
    const result = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SET5_SHA });

    const hrDir = path.join(root, 'set5', 'HR');
    expect(result).toMatchObject({ name: 'set5', dir: path.join(root, 'set5'), hrDir, alreadyPresent: false });
    expect(fs.readdirSync(hrDir).sort()).toEqual(SET5_IMAGES.map((n) => `${n}.png`));
    expect(fs.readFileSync(path.join(hrDir, 'img_003.png'), 'utf8')).toBe('HR x4 img_003');

    const marker = readCompletionMarker(path.join(root, 'set5'));
    expect(marker).toMatchObject({ name: 'set5', url: server.url('/set5.zip'), sha256: SET5_SHA, imageCount: 5 });
    expect(marker!.checksum).toBe('user-supplied');
    expect(Date.now() - Date.parse(marker!.completedAt)).toBeLessThan(60_000);
    expect(leftovers()).toEqual([]);
  });

  test('a published checksum is used when the caller gives none', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
    const published: DatasetSpec = { ...set5, url: server.url('/set5.zip'), sha256: SET5_SHA };
    const result = await installDataset(published, { ...FAST, root });
    expect(result.marker.checksum).toBe('published');
  });

  test('a second install finds the complete copy and downloads nothing', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
    const opts = { ...FAST, root, url: server.url('/set5.zip'), sha256: SET5_SHA };
    await installDataset(set5, opts);
    const again = await installDataset(set5, opts);
    expect(again.alreadyPresent).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  test('a checksum mismatch installs nothing and names both hashes', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
    const wrong = '0'.repeat(64);
    const error = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: wrong }).catch((e) => e);
    expect(error).toBeInstanceOf(SrError);
    expect(error.message).toContain(wrong);
    expect(error.message).toContain(SET5_SHA);
    expect(fs.existsSync(path.join(root, 'set5'))).toBe(false);
    expect(datasetStatus(set5, root).marker).toBeNull();
    expect(leftovers()).toEqual([]);
  });

  test.each([
    // From <root>/.sr-tmp-set5-*/HR/, three levels up is the test's work folder, outside the root.
    ['../../../evil.png', () => '../../../evil.png'],
    ['an absolute path', () => path.join(work, 'evil.png')],
  ])('an archive with an escaping entry (%s) writes nothing outside and completes nothing', async (_label, entryName) => {
    const zip = makeSelfExSrZip(SET5_IMAGES, 'Set5/', [{ name: entryName(), data: 'evil' }]);
    server = await startTestServer({ '/set5.zip': { body: zip } });
    const error = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: sha256(zip) }).catch((e) => e);
    expect(error).toBeInstanceOf(SrError);
    expect(error.message).toMatch(/refusing to extract/);
    expect(filesNamed(work, 'evil.png')).toEqual([]);
    expect(fs.existsSync(path.join(root, 'set5'))).toBe(false);
    expect(datasetStatus(set5, root).marker).toBeNull();
    // The bad archive is not kept for reuse either.
    expect(leftovers()).toEqual([]);
  });

  test('without a published or given SHA-256 it refuses before downloading', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
    const error = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip') }).catch((e) => e);
    // A missing option, so a usage error (exit 2).
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/no published SHA-256.*--sha256 HEX.*--insecure-skip-checksum/);
    expect(server.requests).toHaveLength(0);
  });

  test('--insecure-skip-checksum installs and records the hash it did not check', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
    const result = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), insecureSkipChecksum: true });
    expect(result.marker).toMatchObject({ checksum: 'skipped', sha256: SET5_SHA, imageCount: 5 });
  });

  test('a folder left without its marker is treated as absent and replaced', async () => {
    const stale = path.join(root, 'set5', 'HR');
    fs.mkdirSync(stale, { recursive: true });
    fs.writeFileSync(path.join(stale, 'half-written.png'), 'junk');
    fs.mkdirSync(path.join(root, '.sr-tmp-set5-crashed'));
    expect(datasetStatus(set5, root).marker).toBeNull();

    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
    await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SET5_SHA });
    expect(fs.readdirSync(stale).sort()).toEqual(SET5_IMAGES.map((n) => `${n}.png`));
    expect(leftovers()).toEqual([]);
  });

  test('--force keeps the complete copy when the new download fails', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP }, '/gone.zip': { body: SET5_ZIP, status: 404 } });
    await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SET5_SHA });
    const error = await installDataset(set5, { ...FAST, root, force: true, url: server.url('/gone.zip'), sha256: SET5_SHA }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(SrError);
    expect(datasetStatus(set5, root).marker).toMatchObject({ url: server.url('/set5.zip') });
    expect(fs.readdirSync(path.join(root, 'set5', 'HR'))).toHaveLength(5);
  });

  test('--force replaces a complete copy once the new one is ready', async () => {
    const other = makeSelfExSrZip(SET5_IMAGES, '');
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP }, '/mirror.zip': { body: other } });
    await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SET5_SHA });
    const result = await installDataset(set5, { ...FAST, root, force: true, url: server.url('/mirror.zip'), sha256: sha256(other) });
    expect(result.alreadyPresent).toBe(false);
    expect(datasetStatus(set5, root).marker).toMatchObject({ url: server.url('/mirror.zip'), sha256: sha256(other) });
    expect(leftovers()).toEqual([]);
  });

  test('an archive with the wrong number of HR images installs nothing', async () => {
    const short = makeSelfExSrZip(SET5_IMAGES.slice(0, 4));
    server = await startTestServer({ '/set5.zip': { body: short } });
    await expect(installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: sha256(short) })).rejects.toThrow(
      /holds 4 HR images where 5 were expected/,
    );
    expect(fs.existsSync(path.join(root, 'set5'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  test('a dropped connection is resumed and the dataset still completes', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP, cutAfter: { bytes: 300, times: 1 } } });
    const result = await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SET5_SHA });
    expect(result.marker.imageCount).toBe(5);
    expect(server.requests.map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
  });
});

describe('archive layouts', () => {
  test('SelfExSR names map to plain image names from the ×4 folder only', () => {
    expect(selfExSrHrImageName('Set14/image_SRF_4/img_014_SRF_4_HR.png')).toBe('img_014.png');
    expect(selfExSrHrImageName('image_SRF_4/img_100_SRF_4_HR.png')).toBe('img_100.png');
    expect(selfExSrHrImageName('image_SRF_2/img_001_SRF_2_HR.png')).toBeNull();
    expect(selfExSrHrImageName('image_SRF_4/img_001_SRF_4_LR.png')).toBeNull();
    expect(selfExSrHrImageName('image_SRF_4/img_001_SRF_4_A+.png')).toBeNull();
  });

  test('DIV2K HR entries keep their numbers, each split only from its own folder', () => {
    const [valid, train] = [getDataset('div2k-valid'), getDataset('div2k-train')];
    expect(valid.hrImageName('DIV2K_valid_HR/0801.png')).toBe('0801.png');
    expect(valid.hrImageName('DIV2K_valid_HR/')).toBeNull();
    expect(valid.hrImageName('DIV2K_valid_LR_bicubic/X4/0801x4.png')).toBeNull();
    expect(valid.hrImageName('DIV2K_train_HR/0001.png')).toBeNull();
    expect(train.hrImageName('DIV2K_train_HR/0001.png')).toBe('0001.png');
    expect(train.hrImageName('some/prefix/DIV2K_train_HR/0800.png')).toBe('0800.png');
    expect(train.hrImageName('DIV2K_valid_HR/0801.png')).toBeNull();
    expect(train.hrImageName('DIV2K_train_LR_bicubic/X4/0001x4.png')).toBeNull();
  });

  for (const [split, first, count] of [
    ['valid', 801, 100],
    ['train', 1, 800],
  ] as const) {
    test(`a DIV2K ${split}-shaped archive installs all ${count} images under div2k-${split}`, async () => {
      const images = Array.from({ length: count }, (_, i) => `${String(first + i).padStart(4, '0')}.png`);
      const folder = `DIV2K_${split}_HR`;
      const zip = makeZip([{ name: `${folder}/` }, ...images.map((n) => ({ name: `${folder}/${n}`, data: n }))]);
      server = await startTestServer({ '/div2k.zip': { body: zip } });
      const spec = getDatasetSplit('div2k', split);
      const result = await installDataset(spec, { ...FAST, root, url: server.url('/div2k.zip'), sha256: sha256(zip) });
      expect(result.hrDir).toBe(path.join(root, `div2k-${split}`, 'HR'));
      expect(fs.readdirSync(result.hrDir).sort()).toEqual(images);
    });
  }
});

describe('registry', () => {
  test('has the five sets (DIV2K in two splits), each with a well-formed or explicitly unknown SHA-256', () => {
    expect(DATASETS.map((d) => d.name)).toEqual(['set5', 'set14', 'bsd100', 'urban100', 'div2k-train', 'div2k-valid']);
    for (const spec of DATASETS) {
      expect(spec.url).toMatch(/^https:\/\//);
      if (spec.sha256 !== null) expect(spec.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(spec.sha256Source.length).toBeGreaterThan(0);
    }
    // As tensorflow/datasets publishes them, with the archives' sizes.
    expect(getDataset('div2k-valid')).toMatchObject({
      sha256: '20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc',
      archiveSize: { bytes: 448_993_893 },
    });
    expect(getDataset('div2k-train')).toMatchObject({
      sha256: '9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335',
      archiveSize: { bytes: 3_530_603_713 },
    });
  });

  test('div2k alone is the validation split; --split names either, and only sets that have splits', () => {
    expect(getDataset('div2k').name).toBe('div2k-valid');
    expect(getDataset('DIV2K-Train').name).toBe('div2k-train');
    expect(getDatasetSplit('div2k', 'train').name).toBe('div2k-train');
    expect(getDatasetSplit('DIV2K', 'valid').name).toBe('div2k-valid');
    expect(() => getDatasetSplit('div2k', 'test')).toThrow("dataset 'div2k' has no split 'test'; its splits: train, valid");
    expect(() => getDatasetSplit('set5', 'train')).toThrow(UsageError);
    expect(() => getDatasetSplit('set5', 'train')).toThrow('--split is for div2k');
  });

  test('unknown names are a UsageError that lists the known ones', () => {
    expect(() => getDataset('set6')).toThrow(UsageError);
    expect(() => getDataset('set6')).toThrow('set5, set14, bsd100, urban100, div2k-train, div2k-valid');
    expect(getDataset('Set5').name).toBe('set5');
  });

  test('the root is SR_DATA_DIR when set, else datasets/ at the package root', () => {
    const saved = process.env.SR_DATA_DIR;
    try {
      process.env.SR_DATA_DIR = work;
      expect(datasetsRoot()).toBe(work);
      delete process.env.SR_DATA_DIR;
      expect(datasetsRoot()).toBe(path.resolve(__dirname, '..', '..', 'datasets'));
    } finally {
      if (saved === undefined) delete process.env.SR_DATA_DIR;
      else process.env.SR_DATA_DIR = saved;
    }
  });
});

describe('resolveDataset', () => {
  test('a registry name that is not downloaded says how to get it', () => {
    expect(() => resolveDataset('set5', root)).toThrow(UsageError);
    expect(() => resolveDataset('set5', root)).toThrow('run sr data download set5');
  });

  test('a downloaded registry name lists its HR images in order', async () => {
    server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
    await installDataset(set5, { ...FAST, root, url: server.url('/set5.zip'), sha256: SET5_SHA });
    const resolved = resolveDataset('set5', root);
    expect(resolved.name).toBe('set5');
    expect(resolved.hrDir).toBe(path.join(root, 'set5', 'HR'));
    expect(resolved.images).toEqual(SET5_IMAGES.map((n) => path.join(root, 'set5', 'HR', `${n}.png`)));
  });

  test('a folder of images: only image files, sorted by name, as absolute paths', () => {
    const dir = path.join(work, 'photos');
    fs.mkdirSync(path.join(dir, 'nested'), { recursive: true });
    for (const name of ['b.png', 'a.JPG', 'c.webp', 'notes.txt', 'd.tiff', 'nested/e.png']) {
      fs.writeFileSync(path.join(dir, name), name);
    }
    const resolved = resolveDataset(dir, root);
    expect(resolved.name).toBe('photos');
    expect(resolved.hrDir).toBe(dir);
    expect(resolved.images).toEqual(['a.JPG', 'b.png', 'c.webp', 'd.tiff'].map((n) => path.join(dir, n)));
  });

  test('a folder with an HR/ subfolder uses that', () => {
    const dir = path.join(work, 'mine');
    fs.mkdirSync(path.join(dir, 'HR'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'LR'));
    fs.writeFileSync(path.join(dir, 'HR', 'x.png'), 'hr');
    fs.writeFileSync(path.join(dir, 'LR', 'x.png'), 'lr');
    expect(resolveDataset(dir, root)).toEqual({ name: 'mine', hrDir: path.join(dir, 'HR'), images: [path.join(dir, 'HR', 'x.png')] });
  });

  test('an empty folder, a file and a missing path are errors', () => {
    const empty = path.join(work, 'empty');
    fs.mkdirSync(empty);
    expect(() => resolveDataset(empty, root)).toThrow(/no images/);
    expect(() => resolveDataset(empty, root)).toThrow(UsageError);
    const file = path.join(work, 'file.png');
    fs.writeFileSync(file, 'x');
    expect(() => resolveDataset(file, root)).toThrow(UsageError);
    expect(() => resolveDataset(path.join(work, 'missing'), root)).toThrow(/neither a known dataset \(set5, .*\) nor a folder/);
  });
});

test('the marker is the last thing written: a dataset folder exists only with it', async () => {
  server = await startTestServer({ '/set5.zip': { body: SET5_ZIP } });
  const markerSeenAt: string[] = [];
  await installDataset(set5, {
    ...FAST,
    root,
    url: server.url('/set5.zip'),
    sha256: SET5_SHA,
    onStage: (stage) => markerSeenAt.push(`${stage}:${fs.existsSync(path.join(root, 'set5', MARKER_FILE))}`),
  });
  expect(markerSeenAt).toEqual(['download:false', 'extract:false']);
  expect(fs.existsSync(path.join(root, 'set5', MARKER_FILE))).toBe(true);
});
