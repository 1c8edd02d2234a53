/**
 * `sr export` as a library call, and the ONNX pieces other code uses.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SrError, UsageError } from '../errors';
import { checkScale, describeCheckpoint, findCheckpoint, isInterpolation } from '../infer';
import { readCheckpointMeta } from '../train/checkpoint';
import { writeFileAtomic } from '../util/atomic';
import type { PreluForm } from './export';
import { exportCheckpoint } from './upscaler';

export { exportOnnx, readOnnxMetadata, ONNX_INPUT, ONNX_OUTPUT, ONNX_OPSET, type PreluForm } from './export';
export { onnxRuntimeStatus, createSession, type OnnxRuntimeStatus } from './runtime';
export { cachedExport, checkpointExportKey, userCacheDir } from './cache';
export { onnxCheckpointUpscaler, exportCheckpoint } from './upscaler';

export interface ExportRequest {
  /** A shipped model name (with `scale`) or a checkpoint / training run folder. */
  model: string;
  scale?: number;
  output: string;
  /** How PReLU is written (see exportOnnx): the default is what ONNX Runtime's CPU provider runs fastest. */
  prelu?: PreluForm;
}

export interface ExportResult {
  output: string;
  model: string;
  checkpoint: string;
  scale: number;
  bytes: number;
  inputSpace: string;
  inputIsUpsampled: boolean;
  /** Pixels per side the input must be mirror-padded by ('valid' convolutions). */
  shrink: number;
}

/** Exports a network to an ONNX file, written atomically. */
export async function exportModel(request: ExportRequest): Promise<ExportResult> {
  if (isInterpolation(request.model)) throw new UsageError(`'${request.model}' is an interpolation kernel, not a network: there is nothing to export`);
  if (request.scale !== undefined) checkScale(request.scale);
  const { dir, label } = findCheckpoint(request.model, request.scale);
  const outDir = path.dirname(path.resolve(request.output));
  if (!fs.existsSync(outDir) || !fs.statSync(outDir).isDirectory()) throw new SrError(`cannot write ${request.output}: folder ${outDir} does not exist`);
  if (fs.existsSync(request.output) && fs.statSync(request.output).isDirectory()) throw new SrError(`cannot write ${request.output}: it is a folder`);
  const d = describeCheckpoint(dir, readCheckpointMeta(dir), label, request.scale);
  const bytes = await exportCheckpoint(dir, d, { prelu: request.prelu });
  try {
    await writeFileAtomic(request.output, bytes);
  } catch (err) {
    throw new SrError(`cannot write ${request.output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { output: request.output, model: label, checkpoint: dir, scale: d.scale, bytes: bytes.byteLength, inputSpace: d.inputSpace, inputIsUpsampled: d.inputIsUpsampled, shrink: d.shrink };
}
