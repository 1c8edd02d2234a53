/** Scores as text for tables and grid labels, formatted as the metrics registry says. */
import { METRICS, type MetricName } from '../metrics';

/** Whatever scores are at hand, by metric name. */
export type ScoresByName = Partial<Record<MetricName, number>>;

/** A score as a table cell, '-' when it was not computed. */
export function metricCell(name: MetricName, s: ScoresByName): string {
  const value = s[name];
  return value === undefined ? '-' : value.toFixed(METRICS[name].digits);
}

/** 'PSNR (dB)' and 28.4213 → 'PSNR 28.42 dB': the registry's label with its unit after the value. */
export function metricGridLine(name: MetricName, s: ScoresByName): string {
  const [, short, unit] = /^(.*?)(?: \((.*)\))?$/.exec(METRICS[name].label) ?? [];
  return `${short} ${metricCell(name, s)}${unit ? ` ${unit}` : ''}`;
}
