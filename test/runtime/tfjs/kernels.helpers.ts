/**
 * Shared by the kernels*.test.ts files: deterministic inputs, running one computation on the cpu and
 * wasm backends from the same numbers, and comparing the results.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastKernels } from '../../../src/runtime/tfjs/kernels';

export interface InputSpec {
  shape: number[];
  values: Float32Array;
}

export interface Output {
  shape: number[];
  dtype: tf.DataType;
  values: Float32Array | Int32Array | Uint8Array;
}

/** Small deterministic PRNG (mulberry32), so that failures reproduce. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values uniform in [-scale, scale). */
export function randomInput(shape: number[], seed: number, scale = 1): InputSpec {
  const next = seededUniform(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (2 * next() - 1) * scale;
  return { shape, values };
}

/** Starts both backends once, with the fast kernels registered on wasm, and leaves wasm active. */
export async function initBackends(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
  // The cpu backend advertises tfjs-node on first use; that is noise here.
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean };
  cpu.firstUse = false;
  await tf.setBackend('wasm');
  await tf.ready();
  registerFastKernels('wasm');
}

export type Computation = (...inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** Tensors the engine tracks and buffers the backend holds (a kernel could leak either). */
function allocations(): { tensors: number; backendBuffers: number } {
  return { tensors: tf.memory().numTensors, backendBuffers: tf.engine().backend.numDataIds() };
}

/**
 * Runs `compute` on `backend` with tensors made from `inputs`, and checks that it leaves nothing
 * allocated once its outputs are read and disposed.
 */
export async function runOn(backend: string, inputs: InputSpec[], compute: Computation): Promise<Output[]> {
  await tf.setBackend(backend);
  const before = allocations();
  const outputs = tf.tidy(() => {
    const result = compute(...inputs.map((i) => tf.tensor(i.values, i.shape)));
    return Array.isArray(result) ? result : [result];
  });
  const read = await Promise.all(
    outputs.map(async (t) => ({ shape: t.shape, dtype: t.dtype, values: (await t.data()) as Output['values'] })),
  );
  tf.dispose(outputs);
  expect(allocations()).toEqual(before);
  return read;
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * Element-wise |actual - expected| <= rtol * max(1e-3, max |expected|): relative to the tensor's scale,
 * since gradients near zero carry the rounding error of the large terms summed into them.
 */
export function expectClose(actual: Output, expected: Output, rtol: number, label = ''): void {
  expect({ label, shape: actual.shape, dtype: actual.dtype }).toEqual({ label, shape: expected.shape, dtype: expected.dtype });
  const tolerance = rtol * Math.max(1e-3, maxAbs(expected.values));
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.values.length; i++) {
    const diff = Math.abs(actual.values[i] - expected.values[i]);
    if (!(diff <= worst)) {
      worst = diff;
      worstAt = i;
    }
  }
  if (!(worst <= tolerance)) {
    throw new Error(
      `${label}: max |diff| ${worst} > ${tolerance} at ${worstAt} (actual ${actual.values[worstAt]}, expected ${expected.values[worstAt]})`,
    );
  }
}

/** Runs `compute` on cpu and on wasm and compares every output. */
export async function expectWasmMatchesCpu(inputs: InputSpec[], compute: Computation, rtol = 1e-4): Promise<Output[]> {
  const expected = await runOn('cpu', inputs, compute);
  const actual = await runOn('wasm', inputs, compute);
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expectClose(a, expected[i], rtol, `output ${i}`));
  return actual;
}

/**
 * The output of `f` followed by its gradients with respect to every input, for a fixed pseudo-random
 * upstream gradient (a sum would weight every output alike and hide index mistakes).
 */
export function withGradients(f: Computation, dySeed = 99): Computation {
  return (...xs) => {
    const single = (...args: tf.Tensor[]): tf.Tensor => {
      const y = f(...args);
      if (Array.isArray(y)) throw new Error('withGradients: f must return one tensor');
      return y;
    };
    const y = single(...xs);
    const dySpec = randomInput(y.shape, dySeed);
    const dy = tf.tensor(dySpec.values, dySpec.shape);
    return [y, ...tf.grads(single)(xs, dy)];
  };
}
