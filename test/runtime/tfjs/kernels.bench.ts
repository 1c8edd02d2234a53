/**
 * Timings of the wasm kernels in src/runtime/tfjs/kernels before and after registerFastKernels.
 * Not a jest test (no .test.ts suffix); run with
 *   npx ts-node --transpile-only test/backend/kernels.bench.ts [repetitions]
 * Prints medians: the machine may be shared, so single timings are noisy.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastKernels } from '../../../src/runtime/tfjs/kernels';

const REPS = Number(process.argv[2] ?? 7);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median wall time of `run`, after one warm-up. */
function timeIt(run: () => void, reps = REPS): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** wasm kernels run synchronously, so the work is done on return; reading back would only time a copy. */
function release(t: tf.Tensor): void {
  t.dispose();
}

/** Runs `run`, or reports why the kernel cannot run. */
function timeOrReason(run: () => void, reps = REPS): string {
  try {
    return `${timeIt(run, reps).toFixed(1)} ms`;
  } catch (err) {
    return `fails: ${(err as Error).message.split('\n')[0]}`;
  }
}

interface ConvCase {
  x: tf.Tensor4D;
  dy: tf.Tensor4D;
  filter: tf.Tensor4D;
}

const convAttrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' };

function convGradients(c: ConvCase): { forward: string; input: string; filter: string; gflop: number } {
  const forward = timeOrReason(() => release(tf.conv2d(c.x, c.filter, 1, 'same')));
  const input = timeOrReason(() =>
    release(
      tf.engine().runKernel(
        tf.Conv2DBackpropInput,
        { dy: c.dy, filter: c.filter },
        {
          ...convAttrs,
          inputShape: c.x.shape,
        },
      ) as tf.Tensor,
    ),
  );
  const filter = timeOrReason(() =>
    release(
      tf.engine().runKernel(
        tf.Conv2DBackpropFilter,
        { x: c.x, dy: c.dy },
        {
          ...convAttrs,
          filterShape: c.filter.shape,
        },
      ) as tf.Tensor,
    ),
  );
  const [kh, kw, ci, co] = c.filter.shape;
  const [n, h, w] = c.dy.shape;
  return { forward, input, filter, gflop: (2 * n * h * w * kh * kw * ci * co) / 1e9 };
}

function srcnn(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [33, 33, 1], filters: 64, kernelSize: 9, padding: 'same', activation: 'relu' }),
      tf.layers.conv2d({ filters: 32, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tf.layers.conv2d({ filters: 1, kernelSize: 5, padding: 'same' }),
    ],
  });
}

function srcnnStep(): string {
  const model = srcnn();
  const optimizer = tf.train.adam(1e-4);
  const x = tf.randomUniform([16, 33, 33, 1]);
  const y = tf.randomUniform([16, 33, 33, 1]);
  const step = (): void => {
    const loss = optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar, true);
    if (loss) release(loss);
  };
  const result = timeOrReason(step);
  optimizer.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return result;
}

function report(label: string): void {
  const c: ConvCase = {
    x: tf.randomNormal([16, 33, 33, 64]),
    dy: tf.randomNormal([16, 33, 33, 32]),
    filter: tf.randomNormal([5, 5, 64, 32]),
  };
  const grads = convGradients(c);
  tf.dispose([c.x, c.dy, c.filter]);
  const d2s = tf.randomNormal([1, 256, 256, 256]);
  const depthToSpace = timeOrReason(() => release(tf.depthToSpace(d2s as tf.Tensor4D, 2)));
  d2s.dispose();
  const dense = { x: tf.randomNormal([16, 18432]), w: tf.randomNormal([18432, 1024]), dy: tf.randomNormal([16, 1024]) };
  const denseInputGrad = timeOrReason(() => release(tf.matMul(dense.dy, dense.w, false, true)));
  const denseWeightGrad = timeOrReason(() => release(tf.matMul(dense.x, dense.dy, true, false)));
  tf.dispose([dense.x, dense.w, dense.dy]);
  const pooled = tf.tidy(() => tf.relu(tf.randomNormal([16, 96, 96, 64]))) as tf.Tensor4D;
  const poolOut = tf.maxPool(pooled, 2, 2, 'valid');
  const poolDy = tf.randomNormal(poolOut.shape);
  const maxPoolGrad = timeOrReason(() =>
    release(
      tf.engine().runKernel(
        tf.MaxPoolGrad,
        { dy: poolDy, input: pooled, output: poolOut },
        {
          filterSize: 2,
          strides: 2,
          pad: 'valid',
        },
      ) as tf.Tensor,
    ),
  );
  tf.dispose([pooled, poolOut, poolDy]);
  const scale = tf.randomNormal([1, 1, 1, 64]);
  const tile = timeOrReason(() => release(tf.tile(scale, [16, 24, 24, 1])));
  scale.dispose();
  console.log(`${label}`);
  console.log(`  5x5 64->32 on [16,33,33,64] (${grads.gflop.toFixed(2)} GFLOP each):`);
  console.log(`    forward Conv2D (reference)  ${grads.forward}`);
  console.log(`    Conv2DBackpropInput   ${grads.input}`);
  console.log(`    Conv2DBackpropFilter  ${grads.filter}`);
  console.log(`  depthToSpace [1,256,256,256] x2  ${depthToSpace}`);
  console.log(`  tile [1,1,1,64] -> [16,24,24,64]  ${tile}`);
  console.log(`  dense 18432->1024, batch 16: dy*W^T ${denseInputGrad}, x^T*dy ${denseWeightGrad}`);
  console.log(`  MaxPoolGrad 2x2 on [16,96,96,64]  ${maxPoolGrad}`);
  console.log(`  SRCNN 9-5-5 step, batch 16 of 33x33, Adam + MSE  ${srcnnStep()}`);
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  console.log(`tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}, median of ${REPS}`);
  report('before registerFastKernels');
  console.log(`registered: ${registerFastKernels('wasm').join(', ')}`);
  // (The failed 'before' training step leaves its tape's tensors behind; count from here.)
  const tensorsBefore = tf.memory().numTensors;
  report('after');
  console.log(`tensors left by the 'after' runs: ${tf.memory().numTensors - tensorsBefore}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
