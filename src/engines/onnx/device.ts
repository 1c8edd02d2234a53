/**
 * Which ONNX Runtime execution provider runs a session: `--device auto` (CUDA when its provider is
 * installed and starts, else the CPU), `cpu`, or `cuda` (an error when the provider is absent).
 */
import { UsageError } from '../../core/errors';
import { onnxRuntimeStatus } from '../../runtime/onnx/session';

export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

export function isDevice(value: string): value is Device {
  return (DEVICES as readonly string[]).includes(value);
}

/** createSession's `cuda` flag for a device; `cuda` without the provider installed is a usage error. */
export function useCuda(device: Device = 'auto'): boolean {
  if (device === 'cuda' && !onnxRuntimeStatus().cudaInstalled) {
    throw new UsageError(
      "--device cuda: ONNX Runtime's CUDA provider is not installed (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)",
    );
  }
  return device !== 'cpu';
}
