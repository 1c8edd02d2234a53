/**
 * The fast kernels survive the wasm backend being torn down and started again (src/runtime/tfjs/wasm.ts
 * does that when it falls back from the threaded build): BatchMatMul delegates to the backend's own
 * kernel, whose setup must run again against the new wasm module.
 */
import * as tf from '@tensorflow/tfjs';
import { registerFastKernels } from '../../../src/runtime/tfjs/kernels';
import { expectWasmMatchesCpu, initBackends, randomInput, withGradients } from './kernels.helpers';

beforeAll(initBackends);

it('a restarted wasm backend still computes transposed products and conv gradients correctly', async () => {
  const factory = tf.findBackendFactory('wasm');
  expect(factory).toBeTruthy();
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory!, 2);
  await tf.setBackend('wasm');
  await tf.ready();
  registerFastKernels('wasm');
  await expectWasmMatchesCpu(
    [randomInput([4, 9], 1), randomInput([9, 5], 2)],
    withGradients((a, b) => tf.matMul(a, b)),
  );
  await expectWasmMatchesCpu(
    [randomInput([2, 7, 6, 3], 3), randomInput([3, 3, 3, 4], 4)],
    withGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')),
  );
});
