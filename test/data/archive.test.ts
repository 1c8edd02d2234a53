import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { extractZip, unsafeNameReason } from '../../src/data/archive';
import { SrError } from '../../src/core/errors';
import { makeZip, type ZipEntrySpec } from './archive-zip-writer';

let work: string;
let target: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-archive-'));
  target = path.join(work, 'out');
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function writeZip(entries: ZipEntrySpec[]): string {
  const file = path.join(work, 'test.zip');
  fs.writeFileSync(file, makeZip(entries));
  return file;
}

/** Every file under `dir`, relative, sorted; [] when dir does not exist. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((p) => fs.statSync(path.join(dir, p)).isFile()).sort();
}

test('extracts stored and deflated entries, creating folders as needed', async () => {
  const big = 'pixels '.repeat(10_000);
  const zip = writeZip([{ name: 'a/' }, { name: 'a/one.png', data: big }, { name: 'a/b/two.png', data: 'second', method: 'store' }]);
  const result = await extractZip(zip, target);
  expect(result.files).toEqual(['a/one.png', 'a/b/two.png']);
  expect(result.bytes).toBe(big.length + 'second'.length);
  expect(fs.readFileSync(path.join(target, 'a/one.png'), 'utf8')).toBe(big);
  expect(fs.readFileSync(path.join(target, 'a/b/two.png'), 'utf8')).toBe('second');
});

test('the filter skips entries and renames the ones it keeps', async () => {
  const zip = writeZip([
    { name: 'set/keep_HR.png', data: 'hr' },
    { name: 'set/skip_LR.png', data: 'lr' },
  ]);
  const result = await extractZip(zip, target, {
    filter: (name) => (name.endsWith('_HR.png') ? path.basename(name).replace('_HR', '') : false),
  });
  expect(result.files).toEqual(['keep.png']);
  expect(filesUnder(target)).toEqual(['keep.png']);
  expect(fs.readFileSync(path.join(target, 'keep.png'), 'utf8')).toBe('hr');
});

describe('entries that would escape the target folder reject the whole archive', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['parent folder', '../evil.png', /climbs out/],
    ['nested parent folder', 'ok/../../evil.png', /climbs out/],
    ['absolute path', '/PLACEHOLDER/evil.png', /absolute path/],
    ['backslashes', '..\\evil.png', /backslash/],
    ['drive letter', 'C:/evil.png', /drive letter/],
  ];
  test.each(cases)('%s', async (_label, rawName, reason) => {
    const name = rawName.replace('/PLACEHOLDER', work);
    const zip = writeZip([
      { name: 'good.png', data: 'fine' },
      { name, data: 'evil' },
      { name: 'later.png', data: 'fine too' },
    ]);
    const error = await extractZip(zip, target, { filter: (n) => n.endsWith('.png') }).catch((e) => e);
    expect(error).toBeInstanceOf(SrError);
    expect(error.message).toMatch(reason);
    expect(error.message).toContain(name);
    // Checked before writing anything: not even the harmless first entry is there.
    expect(filesUnder(target)).toEqual([]);
    expect(filesUnder(work)).toEqual(['test.zip']);
  });

  test('even when the filter would have skipped the bad entry', async () => {
    const zip = writeZip([
      { name: 'good.png', data: 'fine' },
      { name: '../evil.txt', data: 'evil' },
    ]);
    await expect(extractZip(zip, target, { filter: (n) => n.endsWith('.png') })).rejects.toThrow(/climbs out/);
    expect(filesUnder(work)).toEqual(['test.zip']);
  });

  test('or when the filter renames an entry to an escaping path', async () => {
    const zip = writeZip([{ name: 'good.png', data: 'fine' }]);
    await expect(extractZip(zip, target, { filter: () => '../renamed.png' })).rejects.toThrow(/would be written as/);
    expect(filesUnder(work)).toEqual(['test.zip']);
  });
});

test('symbolic links are refused', async () => {
  const zip = writeZip([{ name: 'link.png', data: '/etc/passwd', unixMode: 0o120777, method: 'store' }]);
  const error = await extractZip(zip, target).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toMatch(/'link\.png' is a symbolic link/);
  expect(fs.existsSync(path.join(target, 'link.png'))).toBe(false);
});

test('an archive unpacking to more than the size limit is refused before writing', async () => {
  // 2 MB of zeros deflates to about 2 kB: the shape of a zip bomb.
  const zip = writeZip([{ name: 'bomb.png', data: Buffer.alloc(2_000_000) }]);
  expect(fs.statSync(zip).size).toBeLessThan(10_000);
  const error = await extractZip(zip, target, { limits: { maxTotalBytes: 1_000_000 } }).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toMatch(/more than 1000000 bytes/);
  expect(filesUnder(target)).toEqual([]);
});

test('an entry that lies about its size is stopped while writing', async () => {
  const zip = writeZip([{ name: 'liar.png', data: Buffer.alloc(2_000_000), sizeOverride: 100 }]);
  const error = await extractZip(zip, target, { limits: { maxTotalBytes: 1_000_000 } }).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  const written = fs.existsSync(path.join(target, 'liar.png')) ? fs.statSync(path.join(target, 'liar.png')).size : 0;
  expect(written).toBeLessThanOrEqual(1_000_000);
});

test('an archive with more entries than the limit is refused', async () => {
  const entries = Array.from({ length: 12 }, (_, i) => ({ name: `img${i}.png`, data: String(i) }));
  const zip = writeZip(entries);
  await expect(extractZip(zip, target, { limits: { maxEntries: 10 } })).rejects.toThrow(/12 entries, more than the limit of 10/);
  expect(filesUnder(target)).toEqual([]);
});

test('a CRC-32 mismatch is reported as a corrupt archive', async () => {
  const zip = writeZip([{ name: 'x.png', data: 'real bytes', method: 'store', crcOverride: 0x12345678 }]);
  await expect(extractZip(zip, target)).rejects.toThrow(/CRC-32 mismatch in 'x\.png'/);
});

test('a file that is not a zip gives a one-line SrError', async () => {
  const file = path.join(work, 'not.zip');
  fs.writeFileSync(file, 'this is not a zip file at all');
  const error = await extractZip(file, target).catch((e) => e);
  expect(error).toBeInstanceOf(SrError);
  expect(error.message).toMatch(/^cannot read zip /);
});

test('unsafeNameReason accepts ordinary relative names only', () => {
  expect(unsafeNameReason('Set5/image_SRF_4/img_001_SRF_4_HR.png')).toBeUndefined();
  expect(unsafeNameReason('a..b/c..png')).toBeUndefined();
  expect(unsafeNameReason('')).toBeDefined();
  expect(unsafeNameReason('a/../../b')).toBeDefined();
  expect(unsafeNameReason('..')).toBeDefined();
  expect(unsafeNameReason('/etc/passwd')).toBeDefined();
  expect(unsafeNameReason('c:relative')).toBeDefined();
  expect(unsafeNameReason('dir\\file')).toBeDefined();
  expect(unsafeNameReason('nul\0byte')).toBeDefined();
});
