/**
 * Metrics by name, as `--metrics psnr,ssim,niqe` names them: what each needs (the ground truth or
 * not), which way is better, and how it is printed. Adding one is its file, its entry here and its
 * line in scoreBatch.
 */
import { UsageError } from '../core/errors';

export type MetricName = 'psnr' | 'ssim' | 'niqe';

export interface MetricSpec {
  name: MetricName;
  /** Column heading. */
  label: string;
  /** Compares with the ground truth (PSNR, SSIM) or judges the image alone (NIQE). */
  needsReference: boolean;
  higherIsBetter: boolean;
  /** Digits in tables and reports (CSV keeps more). */
  digits: number;
}

export const METRICS: Readonly<Record<MetricName, MetricSpec>> = {
  psnr: { name: 'psnr', label: 'PSNR (dB)', needsReference: true, higherIsBetter: true, digits: 2 },
  ssim: { name: 'ssim', label: 'SSIM', needsReference: true, higherIsBetter: true, digits: 4 },
  niqe: { name: 'niqe', label: 'NIQE', needsReference: false, higherIsBetter: false, digits: 3 },
};

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];
/** What `sr eval` reports unless asked: the published tables' pair. */
export const DEFAULT_METRICS: readonly MetricName[] = ['psnr', 'ssim'];

/** `--metrics psnr,ssim,niqe`: known names, each once, in the order given. */
export function parseMetricList(value: string): MetricName[] {
  const names = value.split(',').map((s) => s.trim().toLowerCase());
  const unknown = names.find((n) => !(METRIC_NAMES as string[]).includes(n));
  if (unknown !== undefined) throw new UsageError(`--metrics: unknown metric '${unknown}' (known: ${METRIC_NAMES.join(', ')})`);
  return [...new Set(names as MetricName[])];
}
