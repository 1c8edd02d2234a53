/**
 * registerFastKernels on the cpu backend, in a file of its own because it replaces a cpu kernel, which
 * the other kernel tests use as their reference (each jest file loads its own tfjs).
 */
import * as tf from '@tensorflow/tfjs';
import { gradientLabel, registerFastKernels } from '../../../src/runtime/tfjs/kernels';
import { expectClose, randomInput } from './kernels.helpers';

/** Runs a backend kernel function directly and reads its result (a TensorInfo the backend owns). */
function runKernelFunc(kernelFunc: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) {
  const backend = tf.backend();
  const info = kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
  const values = backend.readSync(info.dataId) as Float32Array;
  backend.disposeData(info.dataId);
  return { shape: info.shape, dtype: info.dtype, values };
}

/** Gradients registerFastKernels installs for every backend (gradients are global in tfjs). */
const GRADIENTS = [tf.DepthToSpace, tf.Prelu, tf.FusedBatchNorm, tf.Mean].map(gradientLabel);

describe('registerFastKernels on cpu', () => {
  let cpuFilterGrad: tf.KernelFunc;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false; // no tfjs-node advert
    cpuFilterGrad = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu').kernelFunc;
  });

  it('replaces only the filter gradient, once', () => {
    const inputGrad = tf.getKernel(tf.Conv2DBackpropInput, 'cpu');
    expect(registerFastKernels('cpu')).toEqual([tf.Conv2DBackpropFilter, ...GRADIENTS]);
    const replaced = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu');
    expect(replaced.kernelFunc).not.toBe(cpuFilterGrad);
    expect(registerFastKernels('cpu')).toEqual([tf.Conv2DBackpropFilter, ...GRADIENTS]);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')).toBe(replaced);
    expect(tf.getKernel(tf.Conv2DBackpropInput, 'cpu')).toBe(inputGrad);
  });

  it.each([
    [1, 'same', 1],
    [3, 'same', 2],
    [5, 'valid', 1],
    [3, 'valid', 2],
  ] as Array<[number, 'same' | 'valid', number]>)('matches the cpu backend own kernel: k=%i %s stride %i', (k, pad, stride) => {
    const xSpec = randomInput([2, 9, 8, 3], 1);
    const wShape = [k, k, 3, 4];
    const info = tf.backend_util.computeConv2DInfo([2, 9, 8, 3], wShape as [number, number, number, number], stride, 1, pad);
    const dySpec = randomInput(info.outShape, 2);
    const x = tf.tensor(xSpec.values, xSpec.shape);
    const dy = tf.tensor(dySpec.values, dySpec.shape);
    const attrs = { strides: stride, pad, dataFormat: 'NHWC', filterShape: wShape };
    const expected = runKernelFunc(cpuFilterGrad, { x, dy }, attrs);
    const actual = tf.tidy(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor);
    expectClose({ shape: actual.shape, dtype: actual.dtype, values: actual.dataSync() as Float32Array }, expected, 1e-4);
    tf.dispose([x, dy, actual]);
  });
});
