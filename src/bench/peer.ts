/**
 * The PyTorch peer (../shared/peers/torch_peer.py, Debian's python3-torch): the same training steps
 * timed by PyTorch on the CPU, run by the bench right after its own cases when /usr/bin/python3
 * imports torch, so ratios always compare figures from one run on one machine state.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { firstLine } from '../core/errors';
import { packageRoot } from '../core/paths';
import type { BenchName } from './cases';
import { round } from './stats';
import { TARGETS } from './targets';

export const PEER_PYTHON = '/usr/bin/python3';

export interface PeerReport {
  /** The peer's JSON: its medians by the tfjs case names ('srcnn_train_step_ms', ...). */
  values: Record<string, number>;
  threads: number;
  torch?: string;
  /** Our median divided by the peer's, for every case the peer times (the _onnx twins included). */
  ratios: Record<string, number>;
  /** Whether each ratio is within its target's allowed slowdown (targets.ts), for cases with a target. */
  pass: Record<string, boolean>;
  seconds: number;
  skipped?: string;
}

export function peerScript(): string {
  return path.resolve(packageRoot(), '..', 'shared', 'peers', 'torch_peer.py');
}

/** Why the peer cannot run here, or undefined. */
export function peerUnavailable(): string | undefined {
  if (!fs.existsSync(peerScript())) return `${peerScript()} not found`;
  try {
    execFileSync(PEER_PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    return undefined;
  } catch {
    return `${PEER_PYTHON} cannot import torch (apt-get install python3-torch)`;
  }
}

/** The peer's parts that time what the selected cases time. */
function peerParts(selected: Set<BenchName>): string[] {
  const has = (base: string) => selected.has(base as BenchName) || selected.has(`${base}_onnx` as BenchName);
  const parts: string[] = [];
  if (has('srcnn_train_step_ms')) parts.push('srcnn');
  if (has('srresnet_train_step_ms')) parts.push('srresnet_train');
  if (has('srgan_gan_step_s')) parts.push('gan');
  return parts;
}

export function runPeer(
  selected: Set<BenchName>,
  metrics: Partial<Record<BenchName, number | null>>,
  threads?: number,
): PeerReport | undefined {
  const parts = peerParts(selected);
  if (parts.length === 0) return undefined;
  const n = Math.max(1, Math.floor(threads ?? os.cpus().length));
  const started = performance.now();
  const skipped = peerUnavailable();
  const report: PeerReport = { values: {}, threads: n, ratios: {}, pass: {}, seconds: 0 };
  if (skipped) return { ...report, skipped };
  for (const part of parts) {
    try {
      const out = execFileSync(PEER_PYTHON, [peerScript(), String(n), part], {
        encoding: 'utf8',
        timeout: 30 * 60_000,
        maxBuffer: 16 << 20,
      });
      const json = out.split('\n').find((l) => l.startsWith('JSON '));
      report.torch ??= /torch (\S+)/.exec(out)?.[1];
      if (json) Object.assign(report.values, JSON.parse(json.slice(5)) as Record<string, number>);
    } catch (err) {
      report.skipped = `torch_peer.py ${part} failed: ${firstLine(err)}`;
    }
  }
  for (const [name, value] of Object.entries(metrics)) {
    const base = name.replace(/_onnx$/, '');
    const peer = report.values[base];
    if (typeof value !== 'number' || typeof peer !== 'number' || peer <= 0) continue;
    report.ratios[name] = round(value / peer, 3);
    const target = TARGETS[name as BenchName];
    if (target) report.pass[name] = value / peer <= target.factor;
  }
  report.seconds = round((performance.now() - started) / 1000, 1);
  return report;
}
