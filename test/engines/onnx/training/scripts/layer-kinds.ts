/**
 * Small networks that each exercise one layer kind of the onnx training engine (with a convolution
 * before it, so its input gradient is checked too), seeded so both engines start equal.
 */
import * as tf from '@tensorflow/tfjs';
import { DepthToSpace, ResizeBilinear, ScaleShift, UpsampleNearest } from '../../../../../src/models/layers';
import { interpolationMatrix } from '../../../../../src/engines/onnx/training/rules/resize-bilinear';

type T = tf.SymbolicTensor;

/**
 * Half-pixel bilinear upscaling as two matrix products, for the reference side only: tfjs's own
 * ResizeBilinearGrad kernel ignores halfPixelCenters, so its gradient is not that of its forward
 * pass; this layer computes the same forward values and tfjs differentiates it correctly.
 */
class MatrixResize extends tf.layers.Layer {
  static className = 'TestMatrixResize';
  constructor(readonly factor: number) {
    super({});
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = s as tf.Shape;
    return [n, h == null ? null : h * this.factor, w == null ? null : w * this.factor, c];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [n, h, w, c] = x.shape;
      const f = this.factor;
      const ah = tf.tensor2d(interpolationMatrix(h, f), [h * f, h]);
      const aw = tf.tensor2d(interpolationMatrix(w, f), [w * f, w]);
      // rows: [n, w, c, h] x [h, H]^T -> [n, w, c, H]; then columns.
      const rows = tf.matMul(x.transpose([0, 2, 3, 1]).reshape([n * w * c, h]), ah, false, true).reshape([n, w, c, h * f]);
      const cols = tf.matMul(rows.transpose([0, 3, 2, 1]).reshape([n * h * f * c, w]), aw, false, true).reshape([n, h * f, c, w * f]);
      return cols.transpose([0, 1, 3, 2]);
    });
  }
}

const conv = (filters: number, kernelSize: number, seed: number, extra: Partial<Parameters<typeof tf.layers.conv2d>[0]> = {}) =>
  tf.layers.conv2d({
    filters,
    kernelSize,
    padding: 'same',
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 1 }),
    ...extra,
  });

export const LAYER_KINDS = [
  'conv-same',
  'conv-valid',
  'conv-stride2',
  'conv-wide',
  'conv-wide-stride',
  'conv-transpose',
  'batchnorm',
  'prelu',
  'depth-to-space',
  'upsample-nearest',
  'resize-bilinear',
  'add',
  'activations',
  'scale-shift',
  'leaky-dense',
  'maxpool',
] as const;

/** `reference`: the tfjs side of a comparison (see MatrixResize). */
export function layerKindModel(kind: string, seed: number, reference = false): tf.LayersModel {
  const channels = kind === 'resize-bilinear' || kind === 'depth-to-space' ? 3 : 2;
  const input = tf.input({ shape: [null, null, channels].map((d, i) => (kind === 'leaky-dense' && i < 2 ? 9 : d)) as number[] });
  let x: T = conv(4, 3, seed).apply(input) as T;
  switch (kind) {
    case 'conv-same':
      x = conv(3, 5, seed + 2, { activation: 'relu' }).apply(x) as T;
      break;
    case 'conv-valid':
      x = conv(3, 3, seed + 2, { padding: 'valid', activation: 'tanh' }).apply(x) as T;
      break;
    case 'conv-stride2':
      x = conv(3, 3, seed + 2, { strides: 2 }).apply(x) as T;
      x = conv(2, 4, seed + 3, { strides: 2, padding: 'valid', activation: 'sigmoid' }).apply(x) as T;
      break;
    case 'conv-wide':
      // Wide 5x5 layers take the gathered-im2col filter gradient: x gathered (16 -> 24), then dz (24 -> 16, stride 2).
      x = conv(16, 3, seed + 2).apply(x) as T;
      x = conv(24, 5, seed + 3, { activation: 'relu' }).apply(x) as T;
      x = conv(16, 5, seed + 4, { strides: 2, padding: 'valid' }).apply(x) as T;
      break;
    case 'conv-wide-stride':
      // The same two branches at stride 2 with 'same' padding split unevenly (4x4 kernels: 1 before, 2 after).
      x = conv(16, 3, seed + 2).apply(x) as T;
      x = conv(20, 4, seed + 3, { strides: 2, activation: 'relu' }).apply(x) as T;
      x = conv(16, 4, seed + 4, { strides: 2 }).apply(x) as T;
      break;
    case 'conv-transpose':
      x = tf.layers
        .conv2dTranspose({
          filters: 3,
          kernelSize: 5,
          strides: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
        })
        .apply(x) as T;
      x = tf.layers
        .conv2dTranspose({
          filters: 2,
          kernelSize: 3,
          strides: 2,
          padding: 'valid',
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 3 }),
        })
        .apply(x) as T;
      x = tf.layers
        .conv2dTranspose({
          filters: 2,
          kernelSize: 3,
          strides: 1,
          padding: 'same',
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 4 }),
        })
        .apply(x) as T;
      break;
    case 'batchnorm':
      x = tf.layers
        .batchNormalization({
          momentum: 0.9,
          epsilon: 1e-3,
          gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed }),
          betaInitializer: tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed + 5 }),
        })
        .apply(x) as T;
      break;
    case 'prelu':
      x = tf.layers
        .prelu({ sharedAxes: [1, 2], alphaInitializer: tf.initializers.randomUniform({ minval: 0, maxval: 0.5, seed }) })
        .apply(x) as T;
      break;
    case 'depth-to-space':
      x = new DepthToSpace({ blockSize: 2 }).apply(conv(12, 3, seed + 2).apply(x) as T) as T;
      break;
    case 'upsample-nearest':
      // A convolution after it, so the gradient reaching the upscaling differs across each cell.
      x = conv(3, 3, seed + 2).apply(new UpsampleNearest({ factor: 2 }).apply(x) as T) as T;
      break;
    case 'resize-bilinear':
      x = (reference ? new MatrixResize(3) : new ResizeBilinear({ factor: 3 })).apply(conv(3, 3, seed + 2).apply(x) as T) as T;
      break;
    case 'add':
      x = tf.layers.add().apply([x, conv(4, 3, seed + 2).apply(x) as T]) as T;
      break;
    case 'activations':
      x = tf.layers.activation({ activation: 'tanh' }).apply(x) as T;
      x = tf.layers.reLU().apply(conv(4, 3, seed + 2).apply(x) as T) as T;
      x = tf.layers.activation({ activation: 'sigmoid' }).apply(conv(4, 3, seed + 3).apply(x) as T) as T;
      break;
    case 'scale-shift':
      x = new ScaleShift({ scale: 0.5, offset: 0.5 }).apply(x) as T;
      break;
    case 'leaky-dense':
      x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as T;
      x = tf.layers.flatten().apply(x) as T;
      x = tf.layers
        .dense({
          units: 5,
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 7 }),
          biasInitializer: tf.initializers.constant({ value: 0.05 }),
        })
        .apply(x) as T;
      x = tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 8 }) }).apply(x) as T;
      break;
    case 'maxpool':
      x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(tf.layers.reLU().apply(x) as T) as T;
      x = conv(2, 3, seed + 2).apply(x) as T;
      break;
    default:
      throw new Error(`unknown layer kind ${kind}`);
  }
  return tf.model({ inputs: input, outputs: x });
}
