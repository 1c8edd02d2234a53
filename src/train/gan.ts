/**
 * One SRGAN step on a batch: first the discriminator learns to tell HR from the generator's
 * output, then the generator learns from the content loss plus the adversarial loss
 * (weight 1e-3 in the paper). Each update is applied only when its loss is finite.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/patches';
import { discriminatorLoss, generatorAdversarialLoss } from '../losses/adversarial';
import type { ContentLoss } from '../losses/content';

export interface GanNetworks {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  generatorVars: tf.Variable[];
  discriminatorVars: tf.Variable[];
  generatorOptimizer: tf.Optimizer;
  discriminatorOptimizer: tf.Optimizer;
  content: ContentLoss;
  adversarialWeight: number;
}

export interface GanStepLosses {
  discriminator: number;
  content: number;
  adversarial: number;
  generator: number;
}

function applyIfFinite(optimizer: tf.Optimizer, vars: tf.Variable[], value: tf.Scalar, grads: tf.NamedTensorMap): number {
  const v = value.dataSync()[0];
  // In `vars` order: Adam matches its slots to variables by position.
  if (Number.isFinite(v)) optimizer.applyGradients(vars.map((x) => ({ name: x.name, tensor: grads[x.name] })));
  tf.dispose([value, ...Object.values(grads)]);
  return v;
}

export function ganStep(n: GanNetworks, batch: Batch): GanStepLosses {
  const lr = tf.tensor4d(batch.input, batch.inputShape);
  const hr = tf.tensor4d(batch.target, batch.targetShape);
  try {
    // The discriminator sees a generator output it cannot change.
    const fake = tf.tidy(() => n.generator.apply(lr, { training: true }) as tf.Tensor4D);
    const d = n.discriminatorOptimizer.computeGradients(
      () => discriminatorLoss(n.discriminator.apply(hr, { training: true }) as tf.Tensor, n.discriminator.apply(fake, { training: true }) as tf.Tensor),
      n.discriminatorVars,
    );
    fake.dispose();
    const dLoss = applyIfFinite(n.discriminatorOptimizer, n.discriminatorVars, d.value, d.grads);

    let content = 0;
    let adversarial = 0;
    const g = n.generatorOptimizer.computeGradients(() => {
      const sr = n.generator.apply(lr, { training: true }) as tf.Tensor4D;
      const c = n.content(sr, hr);
      const a = generatorAdversarialLoss(n.discriminator.apply(sr, { training: true }) as tf.Tensor);
      content = c.dataSync()[0];
      adversarial = a.dataSync()[0];
      return c.add(a.mul(n.adversarialWeight)) as tf.Scalar;
    }, n.generatorVars);
    const gLoss = applyIfFinite(n.generatorOptimizer, n.generatorVars, g.value, g.grads);
    return { discriminator: dLoss, content, adversarial, generator: gLoss };
  } finally {
    tf.dispose([lr, hr]);
  }
}
