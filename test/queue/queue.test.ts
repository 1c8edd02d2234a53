/**
 * `sr upscale`/`sr eval` over a BullMQ queue on a real redis-server, with real `sr worker`
 * processes: outputs byte-identical to a local run, a SIGKILLed worker's job recovered by the
 * others, a bad image failing alone, idempotent re-enqueueing, and Redis down as one line.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeImage } from '../../src/image/io';
import { patternImage } from '../helpers/images';
import { expectOneLineError, runSr, type Run } from '../helpers/cli';
import { tempDir } from '../helpers/env';
import { freePort, redisServerPath, startRedis, startWorker, stopProcess, waitFor, type TestRedis, type TestWorker } from './redis';

const REDIS_SERVER = redisServerPath();
/** Images in the upscaled folder (the bad one aside): enough that a worker is mid-run when killed. */
const GOOD_IMAGES = 12;
/** The stall settings promise recovery within 10 s of the kill; the rest is process start-up. */
const RECOVERY_BOUND_MS = 30_000;

function json<T = Record<string, unknown>>(run: Run): T {
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as T;
}

/** What a worker logged as done, one entry per job. */
function doneJobs(worker: TestWorker): string[] {
  return worker
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('done '))
    .map((line) => line.slice('done '.length));
}

const suite = REDIS_SERVER ? describe : describe.skip;
const title = REDIS_SERVER ? 'sr over a job queue' : 'sr over a job queue (skipped: redis-server is not installed; .ci/run installs it)';

suite(title, () => {
  const dir = tempDir('sr-queue-');
  const inDir = path.join(dir, 'in');
  const hrDir = path.join(dir, 'hr');
  const workers: TestWorker[] = [];
  let redis: TestRedis;

  const worker = (args: string[] = []) => {
    const w = startWorker(redis.url, args);
    workers.push(w);
    return w;
  };
  const status = async () =>
    json<{ waiting: number; active: number; completed: number; failed: number; failures: { input: string; error: string }[] }>(
      await runSr(['queue', 'status', redis.url, '--json']),
    );

  beforeAll(async () => {
    redis = await startRedis(REDIS_SERVER!, dir);
    fs.mkdirSync(inDir);
    fs.mkdirSync(hrDir);
    for (let i = 0; i < GOOD_IMAGES; i++) {
      const channels = i === 0 ? 4 : i === 1 ? 1 : 3;
      await writeImage(path.join(inDir, `img${String(i).padStart(2, '0')}.png`), patternImage(64 + 4 * i, 48, channels));
    }
    fs.writeFileSync(path.join(inDir, 'bad.png'), 'not a picture');
    for (let i = 0; i < 3; i++) await writeImage(path.join(hrDir, `hr${i}.png`), patternImage(48 + 8 * i, 40, 3));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => stopProcess(w.proc)));
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says Redis is unreachable in one line and exits 1', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const runs = await Promise.all([
      runSr(['upscale', inDir, '-o', path.join(dir, 'never'), '--queue', closed], {}, 20_000),
      runSr(['worker', '--queue', closed], {}, 20_000),
      runSr(['queue', 'status', closed], {}, 20_000),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(1);
      expectOneLineError(run);
      expect(run.stderr).toMatch(/^sr: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/?: .*ECONNREFUSED/);
    }
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  }, 30_000);

  it('refuses a URL that is not redis:// as a usage error', async () => {
    const run = await runSr(['queue', 'status', 'http://127.0.0.1:1']);
    expect(run.code).toBe(2);
    expectOneLineError(run);
  }, 20_000);

  it('runs a folder on workers, one killed mid-run, with the bytes of a local run', async () => {
    const localOut = path.join(dir, 'local');
    const queueOut = path.join(dir, 'queued');
    const args = (out: string) => ['upscale', inDir, '-o', out, '--model', 'bicubic', '--scale', '4', '--json'];
    const local = await runSr(args(localOut));
    expect(local.code).toBe(1); // bad.png

    const queued = json(await runSr([...args(queueOut), '--queue', redis.url]));
    expect(queued).toMatchObject({ jobs: GOOD_IMAGES + 1, added: GOOD_IMAGES + 1, pending: 0 });
    const again = json(await runSr([...args(queueOut), '--queue', redis.url]));
    expect(again).toMatchObject({ jobs: GOOD_IMAGES + 1, added: 0, pending: GOOD_IMAGES + 1 });

    // One worker alone until it has finished an image, then killed while it holds the next.
    const doomed = worker();
    await waitFor(() => doneJobs(doomed).length > 0, 30_000, 'the first worker to finish an image');
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    const killedAt = Date.now();
    expect((await status()).active).toBe(1);

    const survivors = [worker(['--exit-when-idle', '1']), worker(['--exit-when-idle', '1'])];
    const waited = await runSr([...args(queueOut), '--queue', redis.url, '--wait'], {}, 60_000);
    expect(Date.now() - killedAt).toBeLessThan(RECOVERY_BOUND_MS);
    expect(await Promise.all(survivors.map((w) => w.exited))).toEqual([0, 0]);

    // No image done twice: the killed worker's images plus the survivors' (the recovered one among them).
    // SIGKILL can land after the queue has a job completed and before the worker logs it, so the logs
    // may miss the killed worker's last image; the queue's completed count below is exact.
    const logged = [doomed, ...survivors].flatMap(doneJobs);
    expect(new Set(logged).size).toBe(logged.length);
    expect(logged.length).toBeGreaterThanOrEqual(GOOD_IMAGES - 1);
    expect(survivors.flatMap(doneJobs).length).toBeGreaterThan(0);

    // The same summary as the local run, the bad image failed alone with its one-line error.
    expect(waited.code).toBe(1);
    const [a, b] = [json<Record<string, unknown>>(local), json<Record<string, unknown>>(waited)];
    const strip = (s: Record<string, unknown>, out: string) =>
      JSON.parse(
        JSON.stringify({ ...s, outDir: undefined })
          .split(out)
          .join('OUT')
          .replace(/"seconds":[\d.e-]+/g, '"seconds":0'),
      );
    expect(strip(b, queueOut)).toEqual(strip(a, localOut));
    expect(b.failed).toEqual([{ input: path.join(inDir, 'bad.png'), error: expect.stringMatching(/bad\.png: /) }]);

    // Byte for byte, and nothing else in the folder (no temporary file of the killed worker).
    const names = fs.readdirSync(localOut).sort();
    expect(names).toHaveLength(GOOD_IMAGES);
    expect(fs.readdirSync(queueOut).sort()).toEqual(names);
    for (const name of names) {
      expect(fs.readFileSync(path.join(queueOut, name)).equals(fs.readFileSync(path.join(localOut, name)))).toBe(true);
    }

    const after = await status();
    expect(after).toMatchObject({ waiting: 0, active: 0, completed: GOOD_IMAGES, failed: 1 });
    expect(after.failures).toHaveLength(1);
    expect(after.failures[0].input).toBe(path.join(inDir, 'bad.png'));
    expect(after.failures[0].error).not.toContain('\n');
  }, 120_000);

  it('re-enqueues idempotently: done images stay done, --skip-existing leaves them out', async () => {
    const queueOut = path.join(dir, 'queued');
    const args = ['upscale', inDir, '-o', queueOut, '--scale', '4', '--queue', redis.url, '--json'];
    const skipping = json(await runSr([...args, '--skip-existing']));
    expect(skipping).toMatchObject({ jobs: 1, skipped: GOOD_IMAGES, added: 0, again: 1 });
    const all = json(await runSr(args));
    expect(all).toMatchObject({ jobs: GOOD_IMAGES + 1, added: 0, done: GOOD_IMAGES, pending: 1 });
  }, 30_000);

  it('scores a dataset on workers with the numbers, CSV, images and report of a local eval', async () => {
    const out = (name: string) => path.join(dir, name);
    const evalArgs = (tag: string) => [
      'eval',
      '--dataset',
      hrDir,
      '--scale',
      '2',
      '--json',
      '--csv',
      out(`${tag}.csv`),
      '--save-images',
      out(`${tag}-sr`),
      '--report',
      out(`${tag}.html`),
    ];
    const local = await runSr(evalArgs('local'));
    expect(local.code).toBe(0);
    const scorer = worker(['--exit-when-idle', '1']);
    const queued = await runSr([...evalArgs('queued'), '--queue', redis.url, '--wait'], {}, 60_000);
    expect(queued.stderr).toBe('');
    expect(queued.code).toBe(0);
    expect(json(queued)).toEqual(json(local));
    expect(fs.readFileSync(out('queued.csv'), 'utf8')).toBe(fs.readFileSync(out('local.csv'), 'utf8'));
    for (const name of fs.readdirSync(out('local-sr'))) {
      expect(fs.readFileSync(path.join(out('queued-sr'), name)).equals(fs.readFileSync(path.join(out('local-sr'), name)))).toBe(true);
    }
    expect(fs.readFileSync(out('queued.html'), 'utf8')).toBe(fs.readFileSync(out('local.html'), 'utf8'));
    await scorer.exited;

    const noWait = await runSr(['eval', '--dataset', hrDir, '--queue', redis.url]);
    expect(noWait.code).toBe(2);
    expectOneLineError(noWait);
  }, 90_000);
});
