/**
 * The training log: one JSON object per line (appended, so a resumed run continues the same file),
 * and the loss/PSNR curves drawn as SVG by hand and rendered to PNG by sharp.
 */
import * as fs from 'fs';
import sharp from 'sharp';
import { writeFileAtomic } from '../core/atomic';

export interface LogRecord {
  iter: number;
  [key: string]: number | string | boolean | undefined;
}

export function appendLog(file: string, record: LogRecord): void {
  fs.appendFileSync(file, JSON.stringify(record) + '\n');
}

export function readLog(file: string): LogRecord[] {
  if (!fs.existsSync(file)) return [];
  const out: LogRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* a line cut by a kill mid-write: skip it */
    }
  }
  return out;
}

/**
 * Drops records past `iteration` (what a resumed run is about to redo), and any line a kill cut
 * short. The file is replaced atomically: a kill during the rewrite must not lose the whole curve.
 */
export async function truncateLog(file: string, iteration: number): Promise<void> {
  if (!fs.existsSync(file)) return;
  const kept = readLog(file).filter((r) => r.iter <= iteration);
  await writeFileAtomic(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
}

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

/** One panel of a line chart as SVG elements, inside the box (x, y, w, h). */
function panel(series: Series, x: number, y: number, w: number, h: number, logY: boolean): string {
  const pts = series.points.filter(([, v]) => Number.isFinite(v) && (!logY || v > 0));
  const parts = [`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="#fff" stroke="#999"/>`];
  parts.push(`<text x="${x + 8}" y="${y - 8}" font-family="sans-serif" font-size="14" fill="#222">${escapeXml(series.label)}</text>`);
  if (pts.length === 0) return parts.join('');
  const tf = (v: number) => (logY ? Math.log10(v) : v);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => tf(p[1]));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const px = (v: number) => x + ((v - x0) / (x1 - x0)) * w;
  const py = (v: number) => y + h - ((tf(v) - y0) / (y1 - y0)) * h;
  const d = pts.map(([a, b], i) => `${i ? 'L' : 'M'}${px(a).toFixed(1)},${py(b).toFixed(1)}`).join(' ');
  parts.push(`<path d="${d}" fill="none" stroke="${series.color}" stroke-width="1.5"/>`);
  const fmt = (v: number) => (logY ? (10 ** v).toExponential(2) : v.toFixed(2));
  parts.push(
    `<text x="${x + w - 4}" y="${y + 14}" text-anchor="end" font-family="sans-serif" font-size="11" fill="#555">${fmt(y1)}</text>`,
  );
  parts.push(
    `<text x="${x + w - 4}" y="${y + h - 4}" text-anchor="end" font-family="sans-serif" font-size="11" fill="#555">${fmt(y0)}</text>`,
  );
  parts.push(`<text x="${x}" y="${y + h + 16}" font-family="sans-serif" font-size="11" fill="#555">iter ${x0}</text>`);
  parts.push(
    `<text x="${x + w}" y="${y + h + 16}" text-anchor="end" font-family="sans-serif" font-size="11" fill="#555">iter ${x1}</text>`,
  );
  return parts.join('');
}

/** Renders the curves of numeric log fields (one panel each) to an SVG document. */
export function curvesSvg(records: LogRecord[], fields: { key: string; label: string; logY?: boolean }[]): string {
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  const width = 720;
  const panelH = 180;
  const height = fields.length * (panelH + 50) + 10;
  const body = fields
    .map((f, i) => {
      const points = records.filter((r) => typeof r[f.key] === 'number').map((r) => [r.iter, r[f.key] as number] as [number, number]);
      return panel(
        { label: f.label, color: colors[i % colors.length], points },
        50,
        30 + i * (panelH + 50),
        width - 70,
        panelH,
        Boolean(f.logY),
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f7f7f7"/>${body}</svg>`;
}

export async function writeCurvesPng(
  file: string,
  records: LogRecord[],
  fields: { key: string; label: string; logY?: boolean }[],
): Promise<void> {
  const png = await sharp(Buffer.from(curvesSvg(records, fields)))
    .png()
    .toBuffer();
  await writeFileAtomic(file, png);
}
