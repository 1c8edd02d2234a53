/**
 * Never lose work: a real `sr train srcnn` child process is killed (SIGKILL) at different moments
 * — right at start, while loading data, mid-training, inside a checkpoint write, right after a
 * checkpoint — and stopped with SIGTERM and SIGINT; each time `--resume` continues from the last
 * complete checkpoint, and in the end the run reaches its target with a log that has every
 * iteration exactly once and the same weights as a run that was never interrupted.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from '../helpers/env';
import {
  checkpointIteration,
  checkpointLeftovers,
  kill,
  startTrain,
  tinyYaml,
  trainingImages,
  weights,
  type Event,
  type TrainChild,
} from './helpers';
import { readLog } from '../../src/train/log';

const TARGET = 120;
const SAVE_EVERY = 4;
const LOG_EVERY = 3;
/** Above any pid Linux hands out (pid_max is at most 2^22): the writer of these folders is dead. */
const DEAD_PID = 4_999_999;

const root = tempDir('sr-kill-');
const out = path.join(root, 'run');
let config: string;
/** The same run with rare checkpoints: a signal must not wait for the next one to be handled. */
let rareSaves: string;
const outcomes: string[] = [];

beforeAll(async () => {
  const data = await trainingImages(path.join(root, 'data'), 6);
  config = tinyYaml(path.join(root, 'tiny.yaml'), data, { iterations: TARGET, save_every: SAVE_EVERY, log_every: LOG_EVERY });
  rareSaves = tinyYaml(path.join(root, 'rare-saves.yaml'), data, { iterations: TARGET, save_every: 1000, log_every: LOG_EVERY });
});

afterAll(() => {
  // What each interruption met, for whoever reads the test output.
  process.stdout.write(`kill/resume sequence:\n  ${outcomes.join('\n  ')}\n`);
  fs.rmSync(root, { recursive: true, force: true });
});

const isStart = (e: Event) => e.type === 'start';

/** Where `--resume` must continue: the complete last/, else a finished copy a killed swap left beside it. */
function expectedResumePoint(): number {
  const last = checkpointIteration(path.join(out, 'last'));
  if (last !== undefined) return last;
  const beside = (kind: string) =>
    checkpointLeftovers(out)
      .filter((n) => n.startsWith(`.last.${kind}-`))
      .map((n) => checkpointIteration(path.join(out, n)))
      .filter((i): i is number => i !== undefined);
  return beside('tmp')[0] ?? beside('old')[0] ?? 0;
}

/** Starts `--resume` and checks it continues from the last complete checkpoint. */
async function resume(configFile = config): Promise<{ child: TrainChild; from: number }> {
  const from = expectedResumePoint();
  const child = startTrain(['--config', configFile, '--out', out, '--resume']);
  const start = await child.waitFor(isStart, 'the start event');
  expect(start).toMatchObject({ iteration: from, resumed: from > 0 });
  // Whatever a killed writer left is cleaned up (or, for a finished copy, moved into place).
  expect(checkpointLeftovers(out)).toEqual([]);
  return { child, from };
}

async function sigkill(child: TrainChild, moment: string): Promise<void> {
  const { signal } = await kill(child);
  expect(signal).toBe('SIGKILL');
  outcomes.push(
    `SIGKILL ${moment}: last/ then held ${checkpointIteration(path.join(out, 'last')) ?? 'nothing'}; leftovers ${JSON.stringify(checkpointLeftovers(out))}`,
  );
}

/** Polls (every event-loop turn) for a `.last.tmp-<pid>-*` folder of this child and returns its name. */
async function tempFolderOf(child: TrainChild): Promise<string | undefined> {
  const prefix = `.last.tmp-${child.proc.pid}-`;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) return undefined;
    const found = fs.existsSync(out) ? fs.readdirSync(out).find((n) => n.startsWith(prefix)) : undefined;
    if (found) return found;
    await new Promise((r) => setImmediate(r));
  }
}

test('killed and stopped at many moments, --resume always continues from the last complete checkpoint', async () => {
  // 1. Right at start, before the CLI has done anything.
  const first = startTrain(['--config', config, '--out', out]);
  await sigkill(first, 'right at start');
  expect(checkpointIteration(path.join(out, 'last'))).toBeUndefined();

  // 2. --resume on a folder that holds no checkpoint yet; killed while loading the training data.
  let child = startTrain(['--config', config, '--out', out, '--resume']);
  await child.waitFor((e) => e.type === 'loading', 'the first loading event');
  await sigkill(child, 'while loading data');

  // 3. Mid-training, between two checkpoints.
  // resume() checks that, still without a checkpoint, --resume starts from scratch.
  let from: number;
  ({ child, from } = await resume());
  await child.waitFor(
    (e) => e.type === 'step' && (e.iteration as number) > from + SAVE_EVERY && (e.iteration as number) % SAVE_EVERY !== 0,
    'a step between checkpoints',
  );
  await sigkill(child, 'mid-training');
  const snapshot = path.join(root, 'snapshot');
  fs.cpSync(path.join(out, 'last'), snapshot, { recursive: true });
  const snapshotIteration = checkpointIteration(snapshot)!;

  // 4. Inside a checkpoint write: kill as soon as the temp folder appears. The write is short, so
  // it may finish first; then try the next one.
  let caught: string | undefined;
  for (let attempt = 0; attempt < 6 && !caught; attempt++) {
    ({ child } = await resume());
    const tmp = await tempFolderOf(child);
    await kill(child);
    if (tmp && fs.existsSync(path.join(out, tmp))) caught = tmp;
    outcomes.push(
      `SIGKILL during checkpoint write, attempt ${attempt + 1}: ${caught ? `left ${tmp} (${fs.readdirSync(path.join(out, tmp!)).length} files, MANIFEST ${fs.existsSync(path.join(out, tmp!, 'MANIFEST')) ? 'written' : 'not written'})` : 'the write finished first'}`,
    );
  }
  expect(caught).toBeDefined();
  // The half-written folder is never what resume loads (checked in resume()).

  // 5. Right after a checkpoint was published.
  ({ child, from } = await resume());
  await child.waitFor((e) => e.type === 'checkpoint' && (e.iteration as number) > from, 'a checkpoint');
  await sigkill(child, 'right after a checkpoint');

  // 6. Killed between the two renames that swap a new checkpoint in: no last/ at all, only the
  // finished new folder and the previous one beside it (staged here from real checkpoints).
  const newest = checkpointIteration(path.join(out, 'last'))!;
  expect(snapshotIteration).toBeLessThan(newest);
  fs.renameSync(path.join(out, 'last'), path.join(out, `.last.tmp-${DEAD_PID}-0000aaaa`));
  fs.renameSync(snapshot, path.join(out, `.last.old-${DEAD_PID}-0000aaaa`));
  ({ child, from } = await resume(rareSaves));
  expect(from).toBe(newest);
  outcomes.push(`between the two renames of a checkpoint swap: resumed at ${from} (the new copy), not ${snapshotIteration} (the old one)`);

  // 7. SIGTERM saves a checkpoint where it stopped and exits 143; 8. SIGINT (Ctrl-C) exits 130.
  // With no checkpoint due before the end, the stop must come from the signal itself, promptly.
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    if (signal === 'SIGINT') ({ child, from } = await resume(rareSaves));
    const step = await child.waitFor((e) => e.type === 'step' && (e.iteration as number) > from, 'a step');
    child.proc.kill(signal);
    expect((await child.exited).code).toBe(code);
    const done = child.events.find((e) => e.type === 'done')!;
    expect(done).toMatchObject({ stoppedEarly: true });
    expect(done.iteration as number).toBeLessThan((step.iteration as number) + 40);
    expect(checkpointIteration(path.join(out, 'last'))).toBe(done.iteration);
    outcomes.push(`${signal} after the step event of iteration ${step.iteration}: exit ${code}, checkpoint at ${done.iteration}`);
  }

  // 9. The last resume runs to the end.
  ({ child } = await resume());
  const end = await child.exited;
  expect(end.code).toBe(0);
  expect(child.events.find((e) => e.type === 'done')).toMatchObject({ iteration: TARGET, stoppedEarly: false });
  expect(checkpointIteration(path.join(out, 'last'))).toBe(TARGET);
  expect(checkpointLeftovers(out)).toEqual([]);

  // The loss curve continues across every interruption: each logged iteration exactly once, in order.
  const logged = readLog(path.join(out, 'log.jsonl')).map((r) => r.iter);
  expect(logged).toEqual(Array.from({ length: TARGET / LOG_EVERY }, (_, i) => (i + 1) * LOG_EVERY));

  // Resuming is exact, so the interrupted run ends where an uninterrupted one does.
  const straightOut = path.join(root, 'straight');
  const straight = startTrain(['--config', config, '--out', straightOut]);
  expect((await straight.exited).code).toBe(0);
  const a = weights(path.join(out, 'last'));
  const b = weights(path.join(straightOut, 'last'));
  expect(a.length).toBe(b.length);
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  expect(maxDiff).toBeLessThan(1e-5);
});
