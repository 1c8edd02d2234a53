/**
 * The ONNX engine: a checkpoint's network exported (or read from the export cache) and run by ONNX
 * Runtime. Only the network moves: the colour plumbing around it (Y channel with bicubic Cb/Cr, gray
 * images, mirror padding) is infer's, the same for both engines, so tiling, self-ensemble, outscale
 * and alpha all work as on tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { FoldedNetwork } from '../fold';
import type { NetworkDescription, ShownNetwork } from '../../models';
import { loadCheckpoint } from '../../checkpoint';
import type { AsyncNetwork, EngineInfo, EngineNetwork } from '../network';
import { cachedExport, CACHE_KEY_PROP, type CachedExport } from './cache';
import { exportOnnx, ONNX_INPUT, ONNX_OUTPUT, type PreluForm } from './export';
import { createSession, onnxRuntime, onnxRuntimeStatus, type OnnxSession } from '../../runtime/onnx/session';
import { packageVersion } from '../../core/paths';

/** NHWC (tfjs) to NCHW (ONNX) for a batch of one. */
export function toNchw(data: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[k * plane + p] = data[p * c + k];
  return out;
}

export function toNhwc(data: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let k = 0; k < c; k++) for (let p = 0; p < plane; p++) out[p * c + k] = data[k * plane + p];
  return out;
}

/** Runs a session's network on NHWC batches of one. */
export function sessionNetwork(session: OnnxSession['session']): AsyncNetwork {
  const ort = onnxRuntime();
  return async (batch) => {
    const [n, h, w, c] = batch.shape;
    if (n !== 1) throw new Error(`the ONNX engine runs one image at a time, got a batch of ${n}`);
    const input = new ort.Tensor('float32', toNchw((await batch.data()) as Float32Array, h, w, c), [1, c, h, w]);
    const result = await session.run({ [ONNX_INPUT]: input });
    const out = result[ONNX_OUTPUT];
    try {
      const [, oc, oh, ow] = out.dims as number[];
      return tf.tensor4d(toNhwc(out.data as Float32Array, oc, oh, ow), [1, oh, ow, oc]);
    } finally {
      out.dispose();
    }
  };
}

/** Metadata stored in every export: enough to run it without the checkpoint; `label` is what its weights are known as. */
export function exportMetadata(label: string, d: NetworkDescription): Record<string, string> {
  return {
    'sr.model': label,
    'sr.architecture': d.architecture,
    'sr.scale': String(d.scale),
    'sr.input_space': d.inputSpace,
    'sr.input_is_upsampled': String(d.inputIsUpsampled),
    'sr.shrink': String(d.shrink),
    'sr.layout': 'NCHW',
  };
}

function docString(d: ShownNetwork): string {
  const input =
    d.inputSpace === 'y'
      ? `the BT.601 Y channel (0..1) of the ${d.inputIsUpsampled ? `bicubic x${d.scale} image` : 'LR image'}`
      : `RGB in 0..1 ${d.inputIsUpsampled ? `of the bicubic x${d.scale} image` : 'of the LR image'}`;
  const pad = d.shrink > 0 ? `, mirror-padded (symmetric) by ${d.shrink} pixels per side` : '';
  return `sr ${d.name}: input [N, C, H, W] float32, ${input}${pad}; output the same space at x${d.inputIsUpsampled ? 1 : d.scale}.`;
}

/**
 * Whether exports run the narrow tail convolution before the last depth-to-space (see fold.ts);
 * it pays on ONNX Runtime's CPU provider too (measurements: docs/performance.md, "Kernel and engine
 * measurements").
 */
export const ONNX_PHASE_FOLD = true;

export interface CheckpointExportOptions {
  /** Joins the model's metadata (the export cache's key). */
  metadata?: Record<string, string>;
  prelu?: PreluForm;
}

/** The checkpoint's network exported to ONNX (weights loaded, BN folded). */
export async function exportCheckpoint(dir: string, d: ShownNetwork, options: CheckpointExportOptions = {}): Promise<Uint8Array> {
  const { meta, networks } = await loadCheckpoint(dir);
  const model = networks.model;
  const folded = FoldedNetwork.from(model, { phaseFold: ONNX_PHASE_FOLD });
  try {
    return exportOnnx(folded.graph, {
      name: d.name,
      metadata: { ...exportMetadata(meta.model, d), ...options.metadata },
      producerVersion: packageVersion(),
      docString: docString(d),
      prelu: options.prelu,
    });
  } finally {
    folded.dispose();
    model.dispose();
  }
}

/**
 * LR pixels up to which an input runs in the session with ONNX Runtime's memory arena. From the
 * first larger input on (tiles of a large picture, whole mid-size pictures) a session without the
 * arena runs everything: a little slower, but it returns its memory after each run, where the arena
 * keeps the largest run's blocks, grown in powers of two, and grows again for every new shape
 * (measurements: docs/performance.md, "Kernel and engine measurements").
 */
export const ARENA_MAX_INPUT_PIXELS = 128 * 128;

export interface OnnxNetworkOptions {
  threads?: number;
  /** Try the CUDA provider when installed (default true; --device cpu turns it off). */
  cuda?: boolean;
  /** See ARENA_MAX_INPUT_PIXELS (a test hook). */
  arenaMaxInputPixels?: number;
  /** 'auto' or 'onnx': only for the EngineInfo. */
  requested?: EngineInfo['requested'];
}

/** A checkpoint's network in ONNX Runtime, exported (or read from the export cache) first. */
export async function onnxCheckpointNetwork(dir: string, d: ShownNetwork, options: OnnxNetworkOptions = {}): Promise<EngineNetwork> {
  onnxRuntime(); // fails early, with the reason, when the runtime does not load
  const cached: CachedExport = await cachedExport(dir, (key) => exportCheckpoint(dir, d, { metadata: { [CACHE_KEY_PROP]: key } }));
  const session = await createSession(cached.bytes, { threads: options.threads, cuda: options.cuda });
  const runSmall = sessionNetwork(session.session);
  // The session without the arena is made on the first large input; the arena is a CPU matter only.
  let lean: { session: OnnxSession; run: AsyncNetwork } | undefined;
  const arenaMax = options.arenaMaxInputPixels ?? ARENA_MAX_INPUT_PIXELS;
  const run: AsyncNetwork = async (batch) => {
    const [, h, w] = batch.shape;
    // Once large inputs came, small ones (a picture's last, narrower tiles) stay off the arena too:
    // each new shape would grow it again (the last band of a 2000x2000 picture took 0.8 GB more).
    if (session.provider === 'cuda' || (!lean && h * w <= arenaMax)) return runSmall(batch);
    if (!lean) {
      const leanSession = await createSession(cached.bytes, { threads: session.threads, cuda: false, memoryArena: false });
      lean = { session: leanSession, run: sessionNetwork(leanSession.session) };
    }
    return lean.run(batch);
  };
  const where = session.provider === 'cuda' ? 'CUDA' : `CPU, ${session.threads} thread${session.threads === 1 ? '' : 's'}`;
  const engine: EngineInfo = {
    requested: options.requested ?? 'onnx',
    active: 'onnx',
    description: `onnx (onnxruntime-node ${onnxRuntimeStatus().version}, ${where})`,
    notes: [...session.notes],
    export: { path: cached.path, rebuilt: cached.rebuilt },
  };
  return {
    run,
    engine,
    dispose() {
      for (const s of [session, lean?.session]) void s?.session.release().catch(() => undefined);
    },
  };
}
