/**
 * `sr export` as a library call, and the ONNX pieces other code uses.
 */
import { SrError, UsageError } from '../core/errors';
import { checkScale, describeCheckpoint, findCheckpoint, isInterpolation } from './index';
import { readCheckpointMeta } from '../checkpoint';
import { writeFileAtomic } from '../core/atomic';
import { checkOutputFile } from '../core/fsutil';
import type { PreluForm } from '../engines/onnx/export';
import type { NetworkDescription } from '../models';
import { exportCheckpoint } from '../engines/onnx/network';

export { exportOnnx, readOnnxMetadata, ONNX_INPUT, ONNX_OUTPUT, ONNX_OPSET, type PreluForm } from '../engines/onnx/export';
export { onnxRuntimeStatus, createSession, type OnnxRuntimeStatus } from '../runtime/onnx/session';
export { cachedExport, checkpointExportKey, userCacheDir } from '../engines/onnx/cache';
export { exportCheckpoint } from '../engines/onnx/network';
export { onnxCheckpointUpscaler } from './index';

export interface ExportRequest {
  /** A shipped model name (with `scale`) or a checkpoint / training run folder. */
  model: string;
  scale?: number;
  output: string;
  /** How PReLU is written (see exportOnnx): the default is what ONNX Runtime's CPU provider runs fastest. */
  prelu?: PreluForm;
}

/** The file written and the network in it (its shrink: pixels per side the input is mirror-padded by). */
export type ExportResult = NetworkDescription & {
  output: string;
  /** The name the network was asked by (a shipped name at its scale, or the checkpoint folder). */
  model: string;
  checkpoint: string;
  bytes: number;
};

/** Exports a network to an ONNX file, written atomically. */
export async function exportModel(request: ExportRequest): Promise<ExportResult> {
  if (isInterpolation(request.model))
    throw new UsageError(`'${request.model}' is an interpolation kernel, not a network: there is nothing to export`);
  if (request.scale !== undefined) checkScale(request.scale);
  const { dir, label } = findCheckpoint(request.model, request.scale);
  checkOutputFile(request.output, '-o');
  const d = describeCheckpoint(dir, readCheckpointMeta(dir), label, request.scale);
  const bytes = await exportCheckpoint(dir, d, { prelu: request.prelu });
  try {
    await writeFileAtomic(request.output, bytes);
  } catch (err) {
    throw new SrError(`cannot write ${request.output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { name: _shown, ...network } = d;
  return { ...network, output: request.output, model: label, checkpoint: dir, bytes: bytes.byteLength };
}
