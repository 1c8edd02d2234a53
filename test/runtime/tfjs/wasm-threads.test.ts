/**
 * The multithreaded wasm backend under Node: it really runs the threads asked for, computes what the
 * single-threaded build computes, falls back cleanly when the threads cannot start, and lets a
 * process exit when its work is done.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { startWasm, stopWasm } from '../../../src/runtime/tfjs/wasm';
import { livePthreadWorkers } from '../../../src/runtime/tfjs/wasm/node-pthreads';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');
const EXIT_FIXTURE = path.join(__dirname, 'fixtures', 'wasm-exit.ts');

/** Deterministic values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

interface Outputs {
  conv: Float32Array;
  matMul: Float32Array;
}

/** A convolution and a matrix product big enough for XNNPACK to split them across threads. */
async function compute(): Promise<Outputs> {
  const image = tf.tensor4d(values(64 * 64 * 32, 1), [1, 64, 64, 32]);
  const filter = tf.tensor4d(values(3 * 3 * 32 * 32, 2), [3, 3, 32, 32]);
  const a = tf.tensor2d(values(256 * 384, 3), [256, 384]);
  const b = tf.tensor2d(values(384 * 128, 4), [384, 128]);
  const conv = tf.conv2d(image, filter, 1, 'same');
  const product = tf.matMul(a, b);
  const outputs = { conv: (await conv.data()) as Float32Array, matMul: (await product.data()) as Float32Array };
  tf.dispose([image, filter, a, b, conv, product]);
  return outputs;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function wasmModule(): object {
  return (tf.backend() as BackendWasm).wasm;
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  return condition();
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From the child's report line to its exit. */
  exitDelayMs: number;
}

/** Runs the fixture; kills it (and fails the expectation on `code`) after `limitMs`. */
function runExitFixture(args: string[], limitMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', EXIT_FIXTURE, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, SR_WASM_PTHREAD_FAULT: '' },
    });
    let stdout = '';
    let stderr = '';
    let reportedAt = Number.NaN;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (Number.isNaN(reportedAt) && stdout.includes('\n')) reportedAt = Date.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, exitDelayMs: Date.now() - reportedAt });
    });
  });
}

describe('wasm backend threads', () => {
  beforeAll(() => tf.env().set('PROD', true));
  afterEach(async () => {
    stopWasm();
    // Each test starts with no pthread worker left from the one before.
    expect(await waitFor(() => livePthreadWorkers() === 0, 10_000)).toBe(true);
  });

  it('runs the multithreaded build with 2 threads when 2 are asked for', async () => {
    const started = await startWasm(2);
    expect(started).toEqual({ threads: 2, note: undefined });
    expect(getThreadsCount()).toBe(2);
    expect(tf.getBackend()).toBe('wasm');
    expect('PThread' in wasmModule()).toBe(true);
    // One worker runs XNNPACK's second thread; the idle pooled ones are let go.
    expect(await waitFor(() => livePthreadWorkers() === 1, 5000)).toBe(true);
  });

  it('runs the single-threaded build when 1 thread is asked for', async () => {
    const started = await startWasm(1);
    expect(started).toEqual({ threads: 1, note: undefined });
    expect(getThreadsCount()).toBe(1);
    expect('PThread' in wasmModule()).toBe(false);
    expect(livePthreadWorkers()).toBe(0);
  });

  it('computes conv2d and matMul as the single-threaded build does (within 1e-5)', async () => {
    await startWasm(2);
    expect(getThreadsCount()).toBe(2);
    const threaded = await compute();
    await startWasm(1);
    expect(getThreadsCount()).toBe(1);
    const single = await compute();
    expect(maxAbsDiff(threaded.conv, single.conv)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(threaded.matMul, single.matMul)).toBeLessThanOrEqual(1e-5);

    // Both agree with tfjs's plain JavaScript kernels too (which sum in another order).
    await tf.setBackend('cpu');
    const reference = await compute();
    expect(maxAbsDiff(single.conv, reference.conv)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(single.matMul, reference.matMul)).toBeLessThanOrEqual(1e-4);
  });

  it('falls back to the single-threaded build when a pthread worker fails, and can start threads again after', async () => {
    const started = await startWasm(2, { pthreadFault: 'throw' });
    expect(started.threads).toBe(1);
    expect(started.note).toBe('single-threaded wasm: the multithreaded build failed to start (forced pthread worker failure)');
    expect(tf.getBackend()).toBe('wasm');
    expect('PThread' in wasmModule()).toBe(false);
    const fallback = await compute();
    // The workers of the failed start are terminated, not left running.
    expect(await waitFor(() => livePthreadWorkers() === 0, 10_000)).toBe(true);

    // tfjs keeps no trace of the failure: a later threaded start works and agrees.
    expect(await startWasm(2)).toEqual({ threads: 2, note: undefined });
    const threaded = await compute();
    expect(maxAbsDiff(threaded.conv, fallback.conv)).toBeLessThanOrEqual(1e-5);
  });

  it('falls back when the pthread workers never finish loading', async () => {
    const started = await startWasm(2, { pthreadFault: 'hang', initTimeoutMs: 2000 });
    expect(started).toEqual({
      threads: 1,
      note: 'single-threaded wasm: the multithreaded build failed to start (pthread workers did not load within 2000 ms)',
    });
    expect(tf.getBackend()).toBe('wasm');
    expect(getThreadsCount()).toBe(1);
  });

  it('stopWasm ends the pthread workers', async () => {
    await startWasm(2);
    expect(livePthreadWorkers()).toBeGreaterThan(0);
    stopWasm();
    expect(await waitFor(() => livePthreadWorkers() === 0, 5000)).toBe(true);
    expect(tf.findBackendFactory('wasm')).not.toBeNull(); // still there for a later start
  });

  it('lets a process exit by itself after shutdownBackend', async () => {
    const run = await runExitFixture([], 20_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ active: 'wasm', threads: 2, notes: [], sum: 282752, shutDown: true });
    expect(run.exitDelayMs).toBeLessThan(3000);
  });

  it('lets a process exit by itself even when nobody shuts the backend down', async () => {
    const run = await runExitFixture(['--no-shutdown'], 20_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ active: 'wasm', threads: 2, shutDown: false });
    expect(run.exitDelayMs).toBeLessThan(3000);
  });
});
