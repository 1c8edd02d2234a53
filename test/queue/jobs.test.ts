/** Job ids and queue URLs, without Redis: what makes re-enqueuing idempotent. */
import * as fs from 'fs';
import * as path from 'path';
import { jobId, type UpscaleJobData } from '../../src/queue/jobs';
import { displayUrl, parseQueueUrl } from '../../src/queue/connection';
import { removeStaleTempFiles } from '../../src/queue/temp-files';
import { UsageError } from '../../src/core/errors';
import { tempDir } from '../helpers/env';

const dir = tempDir('sr-queue-jobs-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function job(input: string, overrides: Partial<UpscaleJobData> = {}): UpscaleJobData {
  return {
    kind: 'upscale',
    input,
    output: path.join(dir, 'out', path.basename(input)),
    model: 'bicubic',
    scale: 4,
    tile: 'auto',
    tilePad: 10,
    engine: 'auto',
    ensemble: false,
    alpha: 'bicubic',
    ...overrides,
  };
}

describe('jobId', () => {
  const input = path.join(dir, 'a.png');
  beforeAll(() => fs.writeFileSync(input, 'pixels'));

  it('is the same for the same input and options, whatever their order or undefined ones', () => {
    const reordered = Object.fromEntries(Object.entries(job(input)).reverse()) as unknown as UpscaleJobData;
    expect(jobId(job(input))).toBe(jobId(reordered));
    expect(jobId(job(input, { outscale: undefined }))).toBe(jobId(job(input)));
    expect(jobId(job(input))).toMatch(/^upscale-[0-9a-f]{40}$/);
  });

  it('changes with every option that changes the output', () => {
    const base = jobId(job(input));
    const changes: Partial<UpscaleJobData>[] = [
      { model: 'srcnn' },
      { scale: 2 },
      { tile: 64 },
      { tilePad: 4 },
      { engine: 'tfjs' },
      { ensemble: true },
      { outscale: 3.5 },
      { alpha: 'model' },
      { format: 'webp' },
      { quality: 80 },
      { output: path.join(dir, 'out', 'a_big.png') },
    ];
    const ids = changes.map((c) => jobId(job(input, c)));
    expect(new Set([base, ...ids]).size).toBe(changes.length + 1);
  });

  it('changes when the input file is rewritten', () => {
    const before = jobId(job(input));
    fs.writeFileSync(input, 'other pixels');
    expect(jobId(job(input))).not.toBe(before);
  });
});

describe('queue URLs', () => {
  it('accepts redis:// and rediss:// with an optional database number', () => {
    for (const url of ['redis://127.0.0.1:6379', 'redis://h:1/2', 'rediss://user:pw@h:6380/0']) expect(parseQueueUrl(url)).toBe(url);
  });

  it('refuses anything else as a usage error', () => {
    for (const url of ['127.0.0.1:6379', 'http://h:1', 'redis://h:1/x']) expect(() => parseQueueUrl(url)).toThrow(UsageError);
  });

  it('hides a password in messages', () => {
    expect(displayUrl('redis://user:secret@h:1/2')).toBe('redis://user:***@h:1/2');
  });
});

describe('removeStaleTempFiles', () => {
  it("removes only the target's leftover temporary files", async () => {
    const out = path.join(dir, 'tmpcase');
    fs.mkdirSync(out);
    const names = ['.a.png.123.0badcafe.tmp', '.a.png.9.12345678.tmp', '.b.png.1.12345678.tmp', 'a.png', '.a.png.tmp'];
    for (const name of names) fs.writeFileSync(path.join(out, name), '');
    await removeStaleTempFiles(path.join(out, 'a.png'));
    expect(fs.readdirSync(out).sort()).toEqual(['.a.png.tmp', '.b.png.1.12345678.tmp', 'a.png']);
  });
});
