/**
 * FusedConv2D (convolution, bias, activation: what every tf.layers conv layer calls, in training
 * too when its activation is linear) with the convolution on ONNX Runtime when native convolutions
 * are on (native_conv.ts); the bias and activation then run as tf ops. Anything else (NCHW, native
 * convolutions off) goes to the backend's own fused kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { as4D, inputTensor } from './kernel_util';
import { nativeConv2dFromAttrs } from './native_conv';
import { delegatingKernel } from './registry';

const NAME = tf.FusedConv2D;

interface FusedAttrs {
  strides: tf.Conv2DAttrs['strides'];
  pad: tf.Conv2DAttrs['pad'];
  dataFormat: tf.Conv2DAttrs['dataFormat'];
  dilations: tf.Conv2DAttrs['dilations'];
  dimRoundingMode?: tf.Conv2DAttrs['dimRoundingMode'];
  activation: string;
  leakyreluAlpha?: number;
}

/** The fused activations tfjs defines, applied as separate ops. */
function activate(y: tf.Tensor, attrs: FusedAttrs, preluWeights: tf.Tensor | undefined): tf.Tensor {
  switch (attrs.activation) {
    case 'linear':
      return y;
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.relu6(y);
    case 'elu':
      return tf.elu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'leakyrelu':
      return tf.leakyRelu(y, attrs.leakyreluAlpha ?? 0.2);
    case 'prelu':
      if (!preluWeights) throw new Error(`${NAME}: prelu activation without weights`);
      return tf.prelu(y, preluWeights);
  }
  throw new Error(`${NAME}: unknown activation '${attrs.activation}'`);
}

function fusedConvNativeFirst(backendOwn: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as FusedAttrs;
    const { x: xInfo, filter: filterInfo, bias, preluActivationWeights } = args.inputs;
    const tensors = [xInfo, filterInfo, bias, preluActivationWeights].filter((t) => t !== undefined);
    if (!tensors.every((t) => t instanceof tf.Tensor) || (xInfo as tf.Tensor).dtype !== 'float32') return backendOwn(args);
    const x = as4D(inputTensor(args.inputs, 'x', NAME), NAME);
    const filter = as4D(inputTensor(args.inputs, 'filter', NAME), NAME);
    const conv = nativeConv2dFromAttrs(x, filter, attrs);
    if (!conv) return backendOwn(args);
    if (!bias && attrs.activation === 'linear') return conv;
    try {
      return tf.tidy(() => activate(bias ? tf.add(conv, bias as tf.Tensor) : conv, attrs, preluActivationWeights as tf.Tensor | undefined));
    } finally {
      conv.dispose();
    }
  };
}

export const fusedConv2dKernel = delegatingKernel(NAME, fusedConvNativeFirst);
