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

/** Installs a gradient over tfjs's own (gradients are global: it applies on every backend). */
export function replaceGradient(config: tf.GradConfig): void {
  if (tf.getGradient(config.kernelName) !== config) tf.registerGradient(config);
}

/** A kernel written with tf ops, replacing the backend's own outright. */
export function replacingKernel(kernelName: string, kernelFunc: tf.KernelFunc): KernelFactory {
  return { kernelName, make: (backendName) => ({ kernelName, backendName, kernelFunc }) };
}

/**
 * A kernel that handles some cases itself and hands the rest to the backend's own. The backend's
 * setup binds its kernel to each new wasm module instance (setBackend runs it again), so it stays
 * registered along with the function that uses it.
 */
export function delegatingKernel(kernelName: string, wrap: (previous: tf.KernelFunc) => tf.KernelFunc): KernelFactory {
  return {
    kernelName,
    make: (backendName, previous) => {
      if (!previous) throw new Error(`${kernelName}: backend '${backendName}' has no kernel of its own to delegate to`);
      return {
        kernelName,
        backendName,
        kernelFunc: wrap(previous.kernelFunc),
        setupFunc: previous.setupFunc,
        disposeFunc: previous.disposeFunc,
      };
    },
  };
}
