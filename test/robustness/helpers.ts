/**
 * Plumbing for the robustness tests: tiny training configs, `sr train` as a child process whose
 * JSON events can be awaited (to kill it at a chosen moment), and reading a run folder's state.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { writeImage } from '../../src/image/io';
import { BIN } from '../helpers/cli';
import { patternImage } from '../helpers/images';

/** The tiny SRCNN of test/train/supervised.test.ts: fast enough to train for real in a test. */
export function tinyYaml(file: string, data: string, train: Record<string, unknown> = {}, extra = ''): string {
  const t = { iterations: 40, lr: 0.003, save_every: 4, log_every: 3, val_every: 1000, seed: 5, ...train };
  const trainLines = Object.entries(t).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  const text = [
    'model: srcnn',
    'scale: 3',
    'network: {kernels: [5, 3, 3], widths: [8, 4]}',
    `data: {train: ${JSON.stringify(data)}, patch_size: 15, batch_size: 4}`,
    'train:',
    ...trainLines,
    extra,
  ].join('\n');
  fs.writeFileSync(file, text + '\n');
  return file;
}

/** A folder of small generated training images (different sizes so each has its own pattern). */
export async function trainingImages(dir: string, count = 2): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) await writeImage(path.join(dir, `img${i}.png`), patternImage(45 + 3 * i, 39 + 2 * i, i % 2 ? 1 : 3));
  return dir;
}

export type Event = { type: string; [key: string]: unknown };

export interface TrainChild {
  proc: ChildProcess;
  events: Event[];
  stderr(): string;
  /** Resolves with the first event (already seen or future) matching `pred`. */
  waitFor(pred: (e: Event) => boolean, what: string, timeoutMs?: number): Promise<Event>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `sr --threads 1 train srcnn ... --json` in a child process. */
export function startTrain(args: string[]): TrainChild {
  const env = { ...process.env, NO_COLOR: '1', SR_BACKEND: process.env.SR_TEST_BACKEND ?? 'wasm' };
  const proc = spawn(process.execPath, [BIN, '--threads', '1', 'train', 'srcnn', '--json', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Event[] = [];
  const waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  let stdoutRest = '';
  let stderr = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    const lines = (stdoutRest + chunk.toString('utf8')).split('\n');
    stdoutRest = lines.pop()!;
    for (const line of lines.filter((l) => l.trim())) {
      const event = JSON.parse(line) as Event;
      events.push(event);
      for (const w of waiters.filter((w) => w.pred(event))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    events,
    stderr: () => stderr,
    exited,
    waitFor(pred, what, timeoutMs = 60_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${stderr}`)), timeoutMs);
        const done = (e: Event) => {
          clearTimeout(timer);
          resolve(e);
        };
        waiters.push({ pred, resolve: done });
        void exited.then(() => {
          // Give the last stdout chunk a moment to arrive before giving up.
          setTimeout(() => {
            if (waiters.some((w) => w.resolve === done)) {
              clearTimeout(timer);
              reject(new Error(`sr exited before ${what}; stderr: ${stderr}`));
            }
          }, 200);
        });
      });
    },
  };
}

/** SIGKILL, then wait until the process is really gone. */
export async function kill(
  child: TrainChild,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  child.proc.kill(signal);
  return child.exited;
}

/** The iteration a complete checkpoint folder holds, or undefined if there is none. */
export function checkpointIteration(dir: string): number | undefined {
  if (!fs.existsSync(path.join(dir, 'MANIFEST'))) return undefined;
  return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).iteration;
}

/** Temp and swapped-out checkpoint folders a killed writer may leave in a run folder. */
export function checkpointLeftovers(out: string): string[] {
  return fs.existsSync(out) ? fs.readdirSync(out).filter((n) => /^\.(last|best)\.(tmp|old)-/.test(n)) : [];
}

export function weights(dir: string): Float32Array {
  const buf = fs.readFileSync(path.join(dir, 'weights.bin'));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}
