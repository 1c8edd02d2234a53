/** Loading a tfjs layers model from a folder (model.json + weight shards), without tfjs-node's file://. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SrError } from '../core/errors';

export async function loadLayersModelFromDir(dir: string): Promise<tf.LayersModel> {
  const jsonPath = path.join(dir, 'model.json');
  if (!fs.existsSync(jsonPath)) throw new SrError(`${dir}: no model.json (expected a TensorFlow.js layers model folder)`);
  let parsed: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    parsed = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  } catch {
    throw new SrError(`${jsonPath}: not valid JSON`);
  }
  const shards: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const group of parsed.weightsManifest ?? []) {
    for (const p of group.paths) {
      const file = path.join(dir, p);
      if (path.relative(dir, file).startsWith('..')) throw new SrError(`${jsonPath}: weight path ${p} leaves the folder`);
      try {
        shards.push(fs.readFileSync(file));
      } catch {
        throw new SrError(`${dir}: weight file ${p} is missing`);
      }
    }
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  try {
    return await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: parsed.modelTopology, weightSpecs, weightData }));
  } catch (err) {
    throw new SrError(`${dir}: cannot load the model (${(err as Error).message.split('\n')[0]})`);
  }
}
