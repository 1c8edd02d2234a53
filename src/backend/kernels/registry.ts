/**
 * Idempotent registration. tfjs warns when a kernel is registered over another, so an existing kernel is
 * unregistered first; a kernel this module installed is recognised and left in place, so that calling
 * again neither re-registers nor wraps our own kernel as the "previous" one.
 */
import * as tf from '@tensorflow/tfjs';

/** Builds a kernel for a backend; `previous` is the kernel it replaces, for those that delegate to it. */
export interface KernelFactory {
  kernelName: string;
  make(backendName: string, previous: tf.KernelConfig | undefined): tf.KernelConfig;
}

const installed = new WeakSet<tf.KernelFunc>();

export function installKernel(factory: KernelFactory, backendName: string): void {
  const previous = tf.getKernel(factory.kernelName, backendName) as tf.KernelConfig | undefined;
  if (previous && installed.has(previous.kernelFunc)) return;
  const config = factory.make(backendName, previous);
  installed.add(config.kernelFunc);
  if (previous) tf.unregisterKernel(factory.kernelName, backendName);
  tf.registerKernel(config);
}

/**
 * Installs a gradient only where tfjs has none: gradients are global, not per backend, and one that
 * tfjs ships (in a later version) is preferred to ours. True when ours is in place.
 */
export function installGradient(config: tf.GradConfig): boolean {
  const existing = tf.getGradient(config.kernelName) as tf.GradConfig | undefined;
  if (existing && existing !== config) return false;
  if (!existing) tf.registerGradient(config);
  return true;
}
