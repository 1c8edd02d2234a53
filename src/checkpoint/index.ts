/**
 * A checkpoint is a folder: the tfjs layers model (model.json + weights.bin), meta.json describing
 * it, and for training runs the optimizer slots (optimizer.json + optimizer.bin) and state.json
 * (iteration, RNG, best score). MANIFEST, listing every file with its size and SHA-256, is written
 * last: a folder without it, or whose files do not match it, is incomplete and never loaded.
 *
 * A folder is written beside its target under a temporary name and renamed into place, so a crash
 * leaves the previous checkpoint intact.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import { SrError } from '../core/errors';
import { syncDir } from '../core/atomic';
import type { InputSpace } from '../models/registry';

export const MANIFEST = 'MANIFEST';
export const FORMAT = 'sr-checkpoint-1' as const;

export interface CheckpointMeta {
  format: typeof FORMAT;
  /** Registry name of the architecture ('srcnn', 'srresnet'). */
  architecture: string;
  /** What the weights are known as ('srcnn', 'srresnet', 'srgan'). */
  model: string;
  options: Record<string, unknown>;
  scale: number;
  inputSpace: InputSpace;
  inputIsUpsampled: boolean;
  channels: number;
  training?: {
    data: string | string[];
    val?: string;
    iterations: number;
    seconds: number;
    config?: unknown;
    /** The checkpoint the run started from (`--init`), as it was then: `iterations` and `seconds` are its own training. */
    init?: InitOrigin;
  };
  /**
   * The validation score of these weights, when they were validated (iteration = training.iterations):
   * means over the validation images; `niqe` when the run measured it (train.val_metrics).
   */
  validation?: { dataset: string; psnr: number; ssim: number; niqe?: number; iteration: number };
  /** Written by scripts/widen-srresnet.ts: the checkpoint these weights widen, and how. */
  widened?: { from: string; width: [number, number]; tail_kernel: [number, number]; seed: number; noise: number };
  /** Written by scripts/nearest-srresnet.ts: the checkpoint these weights were converted from, and what changed. */
  converted?: { from: string; change: string };
  createdAt: string;
}

export interface InitOrigin {
  dir: string;
  iterations?: number;
  seconds?: number;
}

export interface NamedWeights {
  name: string;
  tensor: tf.Tensor;
}

export interface CheckpointContent {
  meta: CheckpointMeta;
  /** Networks by role ('model', or 'generator' and 'discriminator'). */
  networks: Record<string, tf.LayersModel>;
  /** Optimizer slot weights by role, from `optimizer.getWeights()`. */
  optimizers?: Record<string, NamedWeights[]>;
  state?: Record<string, unknown>;
}

interface ManifestEntry {
  file: string;
  bytes: number;
  sha256: string;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function concatBuffers(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out;
}

/** File names of a network: 'model' keeps the plain tfjs names so other tools can read the folder. */
function networkFiles(role: string): { json: string; bin: string } {
  return role === 'model' ? { json: 'model.json', bin: 'weights.bin' } : { json: `${role}.json`, bin: `${role}.bin` };
}

async function serializeNetwork(model: tf.LayersModel, binName: string): Promise<{ json: string; bin: Uint8Array }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('model.save produced no weights');
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [binName], weights: artifacts.weightSpecs }],
  };
  return { json: JSON.stringify(json), bin: concatBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]) };
}

async function serializeWeights(weights: NamedWeights[]): Promise<{ json: string; bin: Uint8Array }> {
  const encoded = await tf.io.encodeWeights(weights.map((w) => ({ name: w.name, tensor: w.tensor })));
  return { json: JSON.stringify({ weights: encoded.specs }), bin: new Uint8Array(encoded.data) };
}

async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.promises.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a checkpoint folder atomically (temp folder, MANIFEST last, rename over the old one). */
export async function saveCheckpoint(dir: string, content: CheckpointContent): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  await fs.promises.mkdir(parent, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${suffix}`);
  await fs.promises.mkdir(tmp);
  try {
    const files: Record<string, Uint8Array | string> = {};
    for (const [role, model] of Object.entries(content.networks)) {
      const names = networkFiles(role);
      const { json, bin } = await serializeNetwork(model, names.bin);
      files[names.json] = json;
      files[names.bin] = bin;
    }
    for (const [role, weights] of Object.entries(content.optimizers ?? {})) {
      const base = role === 'model' ? 'optimizer' : `optimizer-${role}`;
      const { json, bin } = await serializeWeights(weights);
      files[`${base}.json`] = json;
      files[`${base}.bin`] = bin;
    }
    files['meta.json'] = JSON.stringify(content.meta, null, 2) + '\n';
    if (content.state) files['state.json'] = JSON.stringify(content.state, null, 2) + '\n';
    const manifest: ManifestEntry[] = [];
    for (const [name, data] of Object.entries(files)) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      await writeSynced(path.join(tmp, name), bytes);
      manifest.push({ file: name, bytes: bytes.byteLength, sha256: sha256(bytes) });
    }
    await writeSynced(path.join(tmp, MANIFEST), JSON.stringify({ format: FORMAT, files: manifest }, null, 2) + '\n');
    await syncDir(tmp);
    await replaceDir(tmp, path.resolve(dir), suffix);
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Swaps a finished folder into place; the old one is moved aside first and removed after. */
async function replaceDir(ready: string, target: string, suffix: string): Promise<void> {
  const old = path.join(path.dirname(target), `.${path.basename(target)}.old-${suffix}`);
  let hadOld = false;
  try {
    await fs.promises.rename(target, old);
    hadOld = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.promises.rename(ready, target);
  await syncDir(path.dirname(target));
  if (hadOld) await fs.promises.rm(old, { recursive: true, force: true });
}

const LEFTOVER = /^\.(.+)\.(tmp|old)-(\d+)-[0-9a-f]+$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cleans up after a writer that was killed inside saveCheckpoint: its `.NAME.tmp-PID-*` and
 * `.NAME.old-PID-*` folders are deleted once PID is gone (a half-written one has no MANIFEST and is
 * never loaded). A kill between replaceDir's two renames leaves no `dir` at all, only the finished
 * new folder (`.tmp-`) and the previous one (`.old-`): the new one if it verifies, else the old one,
 * is moved into place, so the run resumes from it instead of starting over. Returns the folder
 * recovered, if any.
 */
export async function recoverCheckpoint(dir: string): Promise<string | undefined> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  let names: string[];
  try {
    names = await fs.promises.readdir(parent);
  } catch {
    return undefined;
  }
  const stale = names
    .map((name) => ({ name, match: LEFTOVER.exec(name) }))
    .filter(({ match }) => match && match[1] === path.basename(target) && !processAlive(Number(match[3])))
    .map(({ name, match }) => ({ dir: path.join(parent, name), kind: match![2] }));
  let recovered: string | undefined;
  if (!fs.existsSync(target)) {
    const complete = stale
      .filter((c) => {
        try {
          readVerified(c.dir);
          return true;
        } catch {
          return false;
        }
      })
      // The new copy before the previous one; among equals, the one whose MANIFEST is newest.
      .sort((a, b) => (a.kind !== b.kind ? (a.kind === 'tmp' ? -1 : 1) : manifestTime(b.dir) - manifestTime(a.dir)));
    if (complete.length > 0) {
      recovered = complete[0].dir;
      await fs.promises.rename(recovered, target);
      await syncDir(parent);
    }
  }
  for (const c of stale) if (c.dir !== recovered) await fs.promises.rm(c.dir, { recursive: true, force: true });
  return recovered;
}

function manifestTime(dir: string): number {
  return fs.statSync(path.join(dir, MANIFEST)).mtimeMs;
}

/** Reads and verifies a checkpoint's files against its MANIFEST. */
function readVerified(dir: string): Map<string, Buffer> {
  const manifestPath = path.join(dir, MANIFEST);
  if (!fs.existsSync(dir)) throw new SrError(`checkpoint ${dir} does not exist`);
  if (!fs.existsSync(manifestPath)) throw new SrError(`checkpoint ${dir} is incomplete (no ${MANIFEST}); it was not fully written`);
  let manifest: { format: string; files: ManifestEntry[] };
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch {
    throw new SrError(`checkpoint ${dir}: ${MANIFEST} is not valid JSON`);
  }
  if (manifest.format !== FORMAT) throw new SrError(`checkpoint ${dir}: unknown format '${manifest.format}'`);
  const files = new Map<string, Buffer>();
  for (const entry of manifest.files) {
    const file = path.join(dir, entry.file);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      throw new SrError(`checkpoint ${dir}: ${entry.file} is missing`);
    }
    if (data.byteLength !== entry.bytes || sha256(data) !== entry.sha256) {
      throw new SrError(`checkpoint ${dir}: ${entry.file} does not match its manifest (corrupted)`);
    }
    files.set(entry.file, data);
  }
  return files;
}

function arrayBufferOf(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

export function isCheckpointDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, MANIFEST));
}

export function readCheckpointMeta(dir: string): CheckpointMeta {
  const meta = readVerified(dir).get('meta.json');
  if (!meta) throw new SrError(`checkpoint ${dir}: no meta.json`);
  return JSON.parse(meta.toString('utf8')) as CheckpointMeta;
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  networks: Record<string, tf.LayersModel>;
  optimizers: Record<string, NamedWeights[]>;
  state?: Record<string, unknown>;
}

async function loadNetwork(files: Map<string, Buffer>, role: string, dir: string): Promise<tf.LayersModel> {
  const names = networkFiles(role);
  const json = files.get(names.json);
  const bin = files.get(names.bin);
  if (!json || !bin) throw new SrError(`checkpoint ${dir} has no '${role}' network`);
  const parsed = JSON.parse(json.toString('utf8'));
  const weightSpecs = parsed.weightsManifest.flatMap((g: { weights: tf.io.WeightsManifestEntry[] }) => g.weights);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: parsed.modelTopology, weightSpecs, weightData: arrayBufferOf(bin) }));
}

/** Loads the named networks (default: 'model') and, when present, optimizer slots and state. */
export async function loadCheckpoint(dir: string, roles: string[] = ['model']): Promise<LoadedCheckpoint> {
  const files = readVerified(dir);
  const metaBuf = files.get('meta.json');
  if (!metaBuf) throw new SrError(`checkpoint ${dir}: no meta.json`);
  const meta = JSON.parse(metaBuf.toString('utf8')) as CheckpointMeta;
  const networks: Record<string, tf.LayersModel> = {};
  for (const role of roles) networks[role] = await loadNetwork(files, role, dir);
  const optimizers: Record<string, NamedWeights[]> = {};
  for (const role of roles) {
    const base = role === 'model' ? 'optimizer' : `optimizer-${role}`;
    const json = files.get(`${base}.json`);
    const bin = files.get(`${base}.bin`);
    if (!json || !bin) continue;
    const specs = JSON.parse(json.toString('utf8')).weights as tf.io.WeightsManifestEntry[];
    const decoded = tf.io.decodeWeights(arrayBufferOf(bin), specs);
    optimizers[role] = specs.map((s) => ({ name: s.name, tensor: decoded[s.name] }));
  }
  const stateBuf = files.get('state.json');
  return { meta, networks, optimizers, state: stateBuf ? JSON.parse(stateBuf.toString('utf8')) : undefined };
}
