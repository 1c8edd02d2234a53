/**
 * Resolving a training run's config: the file (--config, the run folder's own config.json on
 * --resume, or the packaged default), the command line's overrides over it, then validation. What
 * differs between training recipes (a multi-phase file, the architecture it trains, the default
 * run folder, checks before data loads) comes in as a RecipeConfig, so nothing here names one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../core/errors';
import { packagePath } from '../core/paths';
import { findDataset, resolveDataset } from '../data/datasets';
import { parseConfig, readYaml, requireDir, setPath } from './index';
import { trainingConfigSchema, type TrainingConfig } from './schema';

/** Command-line values that override a config file's (absent: the file's). */
export interface TrainOverrides {
  config?: string;
  scale?: number;
  data?: string;
  val?: string;
  iterations?: number;
  batchSize?: number;
  lr?: number;
  out?: string;
  seed?: number;
  resume?: boolean;
  init?: string;
  onNan?: string;
  phase?: string;
}

/** What config resolution needs to know of a training recipe. */
export interface RecipeConfig {
  /** The name `sr train` was given ('srcnn', 'srgan', ...). */
  command: string;
  /** Phases of a multi-phase recipe (SRGAN: pretrain, gan); absent for one-phase ones. */
  phases?: readonly string[];
  /** The phase a run folder's resolved config (config.json) holds. */
  phaseOfRun?(raw: Record<string, unknown>): string;
  /** A config file's contents as one run's raw config (one phase of a multi-phase file). */
  fromFile(raw: Record<string, unknown>, source: string, phase: string | undefined): Record<string, unknown>;
  /** The architecture the run trains (the config's `model:` key). */
  architecture: string;
  /** What the trained weights are called in checkpoints and default run folders ('srresnet' for SRGAN's pretrain). */
  label(config: TrainingConfig): string;
  /** Checks that must pass before minutes go into loading data (weights the recipe needs, --init). */
  check?(config: TrainingConfig): void;
}

interface ConfigFile {
  raw: Record<string, unknown>;
  source: string;
  phase?: string;
}

/** The packaged config for a name: configs/<name>-x<scale>.yaml (x3, then x4, then x2 without --scale). */
export function packagedConfig(name: string, scale?: number): string {
  const scales = scale ? [scale] : [3, 4, 2];
  const file = scales.map((s) => packagePath('configs', `${name}-x${s}.yaml`)).find((f) => fs.existsSync(f));
  if (!file) throw new UsageError(`no packaged config for ${name}${scale ? ` x${scale}` : ''}; give one with --config`);
  return file;
}

/** The run folder's own resolved config, when --resume continues a run without --config. */
function runConfig(recipe: RecipeConfig, opts: TrainOverrides): ConfigFile | undefined {
  if (!opts.resume || !opts.out || opts.config) return undefined;
  const file = path.join(opts.out, 'config.json');
  if (!fs.existsSync(file)) return undefined;
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const phase = recipe.phaseOfRun?.(raw);
  if (phase && opts.phase && opts.phase !== phase) throw new UsageError(`${opts.out} is a --phase ${phase} run, not --phase ${opts.phase}`);
  return { raw, source: file, phase };
}

function configFile(recipe: RecipeConfig, opts: TrainOverrides): ConfigFile {
  if (opts.phase && !recipe.phases) throw new UsageError(`--phase is for \`sr train srgan\` (multi-phase recipes), not ${recipe.command}`);
  const fromRun = runConfig(recipe, opts);
  if (fromRun) return fromRun;
  const source = opts.config ?? packagedConfig(recipe.command, opts.scale);
  const phase = recipe.phases ? (opts.phase ?? recipe.phases[0]) : undefined;
  return { raw: recipe.fromFile(readYaml(source) as Record<string, unknown>, source, phase), source, phase };
}

/** A folder of images, or a dataset `sr data download` fetched, by its name ('div2k'), as its folder. */
function datasetFolder(folderOrName: string): string {
  return !fs.existsSync(folderOrName) && findDataset(folderOrName) ? resolveDataset(folderOrName).hrDir : folderOrName;
}

/** Applies command-line overrides over the file, then validates the result. */
export function resolveTrainingConfig(recipe: RecipeConfig, opts: TrainOverrides): TrainingConfig {
  const { raw, source } = configFile(recipe, opts);
  const overrides: [string, unknown][] = [
    ['scale', opts.scale],
    ['data.train', opts.data?.includes(',') ? opts.data.split(',') : opts.data],
    ['data.val', opts.val],
    ['train.iterations', opts.iterations],
    ['data.batch_size', opts.batchSize],
    ['train.lr', opts.lr],
    ['train.seed', opts.seed],
    ['train.on_nan', opts.onNan],
    ['out', opts.out],
    ['init', opts.init],
  ];
  for (const [key, value] of overrides) if (value !== undefined) setPath(raw, key, value);
  if (raw.model !== undefined && raw.model !== recipe.architecture) {
    throw new UsageError(`${source} trains '${String(raw.model)}', not '${recipe.command}'`);
  }
  raw.model = recipe.architecture;
  const config = parseConfig(trainingConfigSchema, raw, source);
  if (!config.out) config.out = `runs/${recipe.label(config)}-x${config.scale}`;
  if (config.data.train === undefined) {
    throw new UsageError(`no training images: give --data FOLDER (or data.train in ${source})`);
  }
  config.data.train = Array.isArray(config.data.train) ? config.data.train.map(datasetFolder) : datasetFolder(config.data.train);
  if (config.data.val) config.data.val = datasetFolder(config.data.val);
  for (const dir of [config.data.train].flat()) requireDir(dir, 'training data');
  if (config.data.val) requireDir(config.data.val, 'validation data');
  recipe.check?.(config);
  return config;
}
