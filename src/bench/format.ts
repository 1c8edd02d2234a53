/** The human-readable report: a header, one table row per case, and the profile when asked for. */
import { formatTable, style } from '../core/terminal';
import { BENCH_NAMES } from './cases';
import type { Profile } from './profile';
import type { BenchReport } from './run';

function num(value: number | undefined | null, digits = 1): string {
  return value === undefined || value === null ? '-' : value.toFixed(digits);
}

function passText(pass: boolean | null | undefined): string {
  if (pass === undefined) return '';
  if (pass === null) return style.dim('n/a');
  return pass ? style.ok('pass') : style.err('FAIL');
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `${style.bold('sr bench')}  ${report.date}`,
    `backend ${report.backend}, ${report.threads} thread${report.threads === 1 ? '' : 's'}${report.nativeConv?.enabled ? ', convolutions on ONNX Runtime' : ''}; tfjs ${report.tfjs}, node ${report.node}`,
    `machine ${report.machine.cpus} x ${report.machine.cpuModel} (${report.machine.platform}/${report.machine.arch}, ${report.machine.memoryGiB} GiB)`,
  );
  for (const note of report.backendNotes) lines.push(`${style.warn('note')} ${note}`);
  lines.push('');
  const rows: string[][] = [];
  for (const name of BENCH_NAMES) {
    const r = report.results[name];
    if (!r) continue;
    const target = report.targets[name];
    const digits = r.unit === 's' ? 2 : 1;
    if (r.value === null) {
      rows.push([name, 'skipped', '', '', '', '', '', '', style.dim(r.skipped ?? '')]);
      continue;
    }
    rows.push([
      name,
      `${num(r.value, digits)} ${r.unit}`,
      `${num(r.min, digits)}-${num(r.max, digits)}`,
      String(r.reps ?? ''),
      num(r.gflop, 2),
      num(r.gflops, 1),
      target ? `${target.reference} ${target.unit}` : '',
      target ? `<= ${target.max} ${target.unit} (${target.factor}x)` : '',
      passText(target ? report.pass[name] : undefined),
    ]);
  }
  lines.push(
    formatTable(['benchmark', 'median', 'min-max', 'reps', 'GFLOP', 'GFLOP/s', 'PyTorch', 'target', ''], rows, [
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
      'r',
      'l',
      'l',
    ]),
  );
  const busy = BENCH_NAMES.filter((n) => (report.results[n]?.otherCpuCores ?? 0) >= 0.25);
  for (const name of busy) {
    lines.push(
      style.warn(
        `warning: other processes used ${report.results[name]!.otherCpuCores} cores on average during ${name}; its timing is slower than this machine can do`,
      ),
    );
  }
  lines.push(
    '',
    style.dim(`PyTorch column: ${report.reference.source}. GFLOP: convolutions only, 2 per multiply-add (src/bench/flops.ts).`),
  );
  for (const p of report.profile ?? []) lines.push('', formatProfile(p));
  lines.push('', style.dim(`total ${report.totalSeconds} s`));
  return lines.join('\n');
}

export function formatProfile(p: Profile, topN = 14): string {
  const lines = [style.bold(`profile: ${p.what}`) + `  (${p.wallMs} ms per run while profiled, ${p.kernelMs} ms in kernels)`];
  if (p.phases) {
    const ph = p.phases;
    const step = ph.trainStepMs;
    const pct = (ms: number) => `${((100 * ms) / step).toFixed(0)}%`;
    lines.push(
      formatTable(
        ['phase', 'ms', 'of step'],
        [
          ['trainStep (whole)', num(step, 1), '100%'],
          ['  forward + loss', num(ph.forwardMs, 1), pct(ph.forwardMs)],
          ['  backward', num(ph.backwardMs, 1), pct(ph.backwardMs)],
          ['  Adam update', num(ph.optimizerMs, 1), pct(ph.optimizerMs)],
          ['  upload (tensor4d x2)', num(ph.uploadMs, 2), pct(ph.uploadMs)],
          ['batch creation (not in step)', num(ph.batchBuildMs, 2), pct(ph.batchBuildMs)],
        ],
        ['l', 'r', 'r'],
      ),
    );
  }
  lines.push(
    formatTable(
      ['kernel (top level, inclusive)', 'inputs', 'layer', 'calls', 'ms', 'share'],
      p.kernels
        .slice(0, topN)
        .map((k) => [k.kernel, k.inputs, k.layers ?? '', String(k.calls), num(k.ms, 2), `${(100 * k.share).toFixed(1)}%`]),
      ['l', 'l', 'l', 'r', 'r', 'r'],
    ),
    formatTable(
      ['kernel (self time)', 'calls', 'ms', 'share'],
      p.selfTime.slice(0, 10).map((k) => [k.kernel, String(k.calls), num(k.ms, 2), `${(100 * k.share).toFixed(1)}%`]),
      ['l', 'r', 'r', 'r'],
    ),
  );
  return lines.join('\n');
}
