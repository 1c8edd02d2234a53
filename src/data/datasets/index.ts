/**
 * The dataset registry, where datasets live on disk, and resolveDataset(): the one way the rest of
 * sr turns "set5" or "./my-photos" into a list of HR image files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../../core/errors';
import { isDirectory } from '../../core/fsutil';
import { HR_FOLDER, datasetDir, readCompletionMarker, type CompletionMarker } from '../install';
import type { DatasetSpec } from './types';
import { bsd100 } from './bsd100';
import { div2kTrain, div2kValid } from './div2k';
import { set14 } from './set14';
import { set5 } from './set5';
import { urban100 } from './urban100';
import { packagePath } from '../../core/paths';

export type { DatasetSpec } from './types';

export const DATASETS: readonly DatasetSpec[] = [set5, set14, bsd100, urban100, div2kTrain, div2kValid];

/**
 * Everything readImage decodes, plus .bmp so that it is refused with a reason: a GIF left out here
 * would be skipped silently by `sr eval` and `sr train` instead of being scored or reported.
 */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif', '.bmp'];

/** `SR_DATA_DIR` if set, else `datasets/` at the package root. */
export function datasetsRoot(): string {
  const fromEnv = process.env.SR_DATA_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  // This file is src/data/datasets/index.ts under ts-node and dist/data/datasets/index.js when
  // built: the package root is three levels up either way.
  return packagePath('datasets');
}

export function datasetNames(): string[] {
  return DATASETS.map((d) => d.name);
}

/** The registry entry named `name` (or one of its aliases), case-insensitively. */
export function findDataset(name: string): DatasetSpec | undefined {
  const key = name.toLowerCase();
  return DATASETS.find((d) => d.name === key) ?? DATASETS.find((d) => d.aliases?.includes(key));
}

/** The splits a set is registered in (`div2k` → train, valid), empty for a set that has one. */
export function datasetSplits(family: string): string[] {
  const key = family.toLowerCase();
  return DATASETS.filter((d) => d.family === key && d.split).map((d) => d.split as string);
}

/** `family`'s entry for `split` (`div2k`, `train` → div2k-train), or a UsageError naming the splits there are. */
export function getDatasetSplit(family: string, split: string): DatasetSpec {
  const key = family.toLowerCase();
  const splits = datasetSplits(key);
  if (splits.length === 0) throw new UsageError(`dataset '${family}' has no splits; --split is for ${splitFamilies().join(', ')}`);
  const spec = DATASETS.find((d) => d.family === key && d.split === split);
  if (!spec) throw new UsageError(`dataset '${family}' has no split '${split}'; its splits: ${splits.join(', ')}`);
  return spec;
}

function splitFamilies(): string[] {
  return [...new Set(DATASETS.flatMap((d) => (d.family ? [d.family] : [])))];
}

/** The registry entry for `name`, or a UsageError listing the known names. */
export function getDataset(name: string): DatasetSpec {
  const spec = findDataset(name);
  if (!spec) throw new UsageError(`unknown dataset '${name}'; known datasets: ${datasetNames().join(', ')}`);
  return spec;
}

export interface DatasetStatus {
  spec: DatasetSpec;
  dir: string;
  hrDir: string;
  /** Set only when the download completed (marker present). */
  marker: CompletionMarker | null;
}

export function datasetStatus(spec: DatasetSpec, root = datasetsRoot()): DatasetStatus {
  const dir = datasetDir(root, spec.name);
  return { spec, dir, hrDir: path.join(dir, HR_FOLDER), marker: readCompletionMarker(dir) };
}

export interface ResolvedDataset {
  name: string;
  hrDir: string;
  /** Absolute paths of the HR images, sorted by file name. */
  images: string[];
}

/**
 * A registry name (which must have been downloaded) or a folder of images (its `HR/` subfolder if
 * it has one). A bare name that matches the registry wins over a folder of that name: write
 * `./set5` to mean the folder.
 */
export function resolveDataset(nameOrDir: string, root = datasetsRoot()): ResolvedDataset {
  const spec = findDataset(nameOrDir);
  if (spec) return resolveRegistered(spec, root);
  if (isDirectory(nameOrDir)) return resolveFolder(nameOrDir);
  if (fs.existsSync(nameOrDir)) throw new UsageError(`'${nameOrDir}' is a file; give a dataset name or a folder of images`);
  throw new UsageError(`'${nameOrDir}' is neither a known dataset (${datasetNames().join(', ')}) nor a folder`);
}

function resolveRegistered(spec: DatasetSpec, root: string): ResolvedDataset {
  const status = datasetStatus(spec, root);
  if (!status.marker) {
    throw new UsageError(`dataset '${spec.name}' is not downloaded: run sr data download ${spec.name}`);
  }
  return { name: spec.name, hrDir: status.hrDir, images: listImages(status.hrDir) };
}

function resolveFolder(dir: string): ResolvedDataset {
  const base = path.resolve(dir);
  const hrDir = isDirectory(path.join(base, HR_FOLDER)) ? path.join(base, HR_FOLDER) : base;
  const images = listImages(hrDir);
  if (images.length === 0) {
    throw new UsageError(`no images (${IMAGE_EXTENSIONS.join(' ')}) in ${hrDir}`);
  }
  return { name: path.basename(base), hrDir, images };
}

/** Image files directly in `dir` (not in subfolders), sorted by name, as absolute paths. */
export function listImages(dir: string): string[] {
  const base = path.resolve(dir);
  return fs
    .readdirSync(base, { withFileTypes: true })
    .filter((entry) => IMAGE_EXTENSIONS.includes(path.extname(entry.name).toLowerCase()))
    .filter((entry) => entry.isFile() || (entry.isSymbolicLink() && isFile(path.join(base, entry.name))))
    .map((entry) => entry.name)
    .sort()
    .map((name) => path.join(base, name));
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
