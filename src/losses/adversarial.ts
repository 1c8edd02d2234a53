/**
 * The SRGAN adversarial losses on discriminator logits: the discriminator's binary cross-entropy
 * (real -> 1, fake -> 0), and the generator's -log D(G(x)) (its fakes -> 1), both as sigmoid
 * cross-entropy on logits.
 */
import * as tf from '@tensorflow/tfjs';

export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.losses
      .sigmoidCrossEntropy(tf.onesLike(realLogits), realLogits)
      .add(tf.losses.sigmoidCrossEntropy(tf.zerosLike(fakeLogits), fakeLogits)),
  ) as tf.Scalar;
}

export function generatorAdversarialLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.losses.sigmoidCrossEntropy(tf.onesLike(fakeLogits), fakeLogits)) as tf.Scalar;
}
