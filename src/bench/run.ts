/**
 * runBench(): starts the backend, runs the selected cases in order and assembles the report that
 * `npm run bench` prints and saves. The CLI in index.ts is a thin wrapper around it.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { backendSummary, initBackend, type BackendChoice, type NativeConvStatus } from '../runtime/tfjs';
import {
  BENCH_NAMES,
  CASES,
  buildSrcnn,
  buildSrresnet,
  srcnnSampler,
  SRRESNET_INFER_SETUP,
  type BenchName,
  type CaseResult,
} from './cases';
import { profileInference, profileTrainStep, type Profile } from './profile';
import { otherCpuMonitor, round } from './stats';
import { passes, REFERENCE_SOURCE, TARGETS, type Target } from './targets';
import { runPeer, type PeerReport } from './peer';

export const REPORT_FORMAT = 'sr-bench/1';

export interface BenchOptions {
  backend?: BackendChoice | string;
  threads?: number;
  /** Repetitions for every case (default: each case's own). */
  reps?: number;
  /** Cases to run (default: all). */
  only?: BenchName[];
  set14Dir?: string;
  /** Also break the SRCNN step and SRResNet inference down by phase and kernel. */
  profile?: boolean;
  /** Progress messages (stderr in the CLI). */
  log?: (message: string) => void;
  /** Run the PyTorch peer after the cases when it is installed (default true). */
  peer?: boolean;
  /** Run the onnx training cases on ONNX Runtime's CUDA provider (when installed). */
  cuda?: boolean;
}

export interface BenchReport {
  format: string;
  date: string;
  backend: string;
  threads: number;
  /** Why fewer threads or another backend than asked for run, when that happens. */
  backendNotes: string[];
  /** Whether convolutions ran on ONNX Runtime's native kernels (wasm), or why not. */
  nativeConv: NativeConvStatus;
  backendSkipped: { backend: string; reason: string }[];
  requested: { backend: string; threads: number | null };
  tfjs: string;
  node: string;
  versions: Record<string, string>;
  machine: { cpuModel: string; cpus: number; platform: string; arch: string; memoryGiB: number; loadAverage: number[] };
  /** The headline numbers: median per case, null when skipped or not selected. */
  metrics: Record<BenchName, number | null>;
  results: Partial<Record<BenchName, CaseResult>>;
  reference: { source: string; values: Record<string, number> };
  targets: Record<string, Target>;
  pass: Record<string, boolean | null>;
  profile?: Profile[];
  /** The PyTorch peer's figures from the same run, and our ratios to them (peer.ts). */
  peer?: PeerReport;
  totalSeconds: number;
}

function cpuModel(): string {
  const models = [...new Set(os.cpus().map((c) => c.model.trim()))];
  return models.join(' / ') || 'unknown';
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const info = await initBackend({ backend: options.backend, threads: options.threads });
  log(`backend ${backendSummary(info)}${info.notes.length ? ': ' + info.notes.join('; ') : ''}`);
  const selected = new Set<BenchName>(options.only ?? BENCH_NAMES);
  const metrics = Object.fromEntries(BENCH_NAMES.map((n) => [n, null])) as Record<BenchName, number | null>;
  const results: Partial<Record<BenchName, CaseResult>> = {};
  for (const c of CASES) {
    if (!selected.has(c.name)) continue;
    log(`running ${c.name}: ${c.title}`);
    const tensorsBefore = tf.memory().numTensors;
    const t0 = performance.now();
    const others = otherCpuMonitor();
    const result = await c.run({ reps: options.reps, set14Dir: options.set14Dir, threads: options.threads, cuda: options.cuda, log });
    if (result.value !== null) result.otherCpuCores = others.stop();
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked !== 0) log(`warning: ${c.name} left ${leaked} tensors behind`);
    results[c.name] = result;
    metrics[c.name] = result.value;
    const busy = result.otherCpuCores ? `; other processes used ${result.otherCpuCores} cores meanwhile` : '';
    log(
      `  ${result.value === null ? `skipped (${result.skipped})` : `${result.value} ${result.unit}`} [${((performance.now() - t0) / 1000).toFixed(1)} s${busy}]`,
    );
  }

  let profile: Profile[] | undefined;
  if (options.profile) {
    profile = [];
    if (selected.has('srcnn_train_step_ms')) {
      log('profiling the SRCNN training step');
      const model = buildSrcnn();
      try {
        profile.push(await profileTrainStep('srcnn_train_step', model, srcnnSampler(), options.reps ?? 7));
      } finally {
        model.dispose();
      }
    }
    if (selected.has('srresnet_x4_infer_128_ms')) {
      log('profiling the SRResNet x4 inference');
      const model = buildSrresnet();
      const x = tf.randomUniform([...SRRESNET_INFER_SETUP.input], 0, 1, 'float32', 7) as tf.Tensor4D;
      try {
        profile.push(await profileInference('srresnet_x4_infer_128', model, x));
      } finally {
        x.dispose();
        model.dispose();
      }
    }
  }

  let peer: PeerReport | undefined;
  if (options.peer !== false) {
    log('running the PyTorch peer (../shared/peers/torch_peer.py) on the same steps');
    peer = runPeer(selected, metrics, options.threads);
    if (peer?.skipped) log(`  peer: ${peer.skipped}`);
    for (const [name, ratio] of Object.entries(peer?.ratios ?? {})) log(`  ${name}: ${ratio}x PyTorch`);
  }

  const targets = Object.fromEntries(Object.entries(TARGETS)) as Record<string, Target>;
  return {
    format: REPORT_FORMAT,
    date: new Date().toISOString(),
    backend: info.active,
    threads: info.threads,
    backendNotes: info.notes,
    nativeConv: info.nativeConv,
    backendSkipped: info.skipped,
    requested: { backend: info.requested, threads: options.threads ?? null },
    tfjs: tf.version.tfjs,
    node: process.versions.node,
    versions: info.versions,
    machine: {
      cpuModel: cpuModel(),
      cpus: os.cpus().length,
      platform: os.platform(),
      arch: os.arch(),
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      loadAverage: os.loadavg().map((l) => round(l, 2)),
    },
    metrics,
    results,
    reference: { source: REFERENCE_SOURCE, values: Object.fromEntries(Object.entries(targets).map(([k, t]) => [k, t.reference])) },
    targets,
    pass: passes(metrics),
    ...(profile ? { profile } : {}),
    ...(peer ? { peer } : {}),
    totalSeconds: round((performance.now() - started) / 1000, 1),
  };
}
