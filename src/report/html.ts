/**
 * The visual report: one self-contained HTML page (every image a base64 PNG data URI, the style
 * and the small script inline, nothing fetched) with the metrics table and, per image, crops of
 * the baseline, each model and HR side by side, plus a before/after slider.
 */
import { SrError } from '../core/errors';
import type { MetricScores, Score } from '../metrics';
import { metricCell } from './metric-text';
import { writeFileAtomic } from '../core/atomic';
import type { CropRect } from './crop';
import { escapeXml } from './grid';

export interface ReportImage {
  name: string;
  /** HR size, and where the crops were cut from it. */
  width: number;
  height: number;
  crop: CropRect;
  zoom: number;
  /** One per method, in `VisualReport.methods` order. */
  scores: MetricScores[];
  /** PNG crops (already enlarged), one per method, in the same order. */
  crops: Buffer[];
  hrCrop: Buffer;
  /** A small PNG of the whole HR image, to show where the crop lies. */
  thumbnail: Buffer;
}

export interface VisualReport {
  title: string;
  /** Short facts shown under the title (dataset, scale, metric channel...). */
  details: string[];
  /** Column labels; the first is the baseline (bicubic) the slider starts from. */
  methods: string[];
  /** How the crop location was chosen, for the reader. */
  cropNote: string;
  images: ReportImage[];
  /** Mean score per method. */
  mean: MetricScores[];
}

function dataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

const esc = escapeXml;
const psnr = (s: Score) => s.psnr.toFixed(2);
const ssim = (s: Score) => s.ssim.toFixed(4);
const gain = (s: Score, base: Score) => `${s.psnr - base.psnr >= 0 ? '+' : ''}${(s.psnr - base.psnr).toFixed(2)}`;
/** NIQE is shown when every score carries it (it was asked for). */
const hasNiqe = (report: VisualReport) => report.mean.every((s) => s.niqe !== undefined);

function metricsTable(report: VisualReport): string {
  const { methods } = report;
  const others = methods.slice(1);
  const niqe = hasNiqe(report);
  const perMethod = niqe ? 3 : 2;
  const head1 = `<tr><th rowspan="2">image</th>${methods.map((m) => `<th colspan="${perMethod}">${esc(m)}</th>`).join('')}${others.map((m) => `<th rowspan="2">${esc(m)}<br>vs ${esc(methods[0])}<br>(dB)</th>`).join('')}</tr>`;
  const head2 = `<tr>${methods.map(() => `<th>PSNR (dB)</th><th>SSIM</th>${niqe ? '<th>NIQE</th>' : ''}`).join('')}</tr>`;
  const cells = (s: MetricScores) => `<td>${psnr(s)}</td><td>${ssim(s)}</td>${niqe ? `<td>${metricCell('niqe', s)}</td>` : ''}`;
  const row = (name: string, scores: MetricScores[], cls: string, link: boolean) =>
    `<tr class="${cls}"><td>${link ? `<a href="#${anchor(name)}">${esc(name)}</a>` : esc(name)}</td>${scores.map(cells).join('')}` +
    `${scores
      .slice(1)
      .map((s) => `<td class="gain">${gain(s, scores[0])}</td>`)
      .join('')}</tr>`;
  const body = report.images.map((img) => row(img.name, img.scores, 'image', true)).join('\n');
  return `<table id="metrics">
<thead>${head1}${head2}</thead>
<tbody>
${body}
${row('mean', report.mean, 'mean', false)}
</tbody>
</table>`;
}

function scoreCaption(s: MetricScores): string {
  return `${psnr(s)} dB / ${ssim(s)}${s.niqe === undefined ? '' : ` / NIQE ${metricCell('niqe', s)}`}`;
}

function anchor(name: string): string {
  return `img-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function figure(src: string, width: number, height: number, caption: string, alt: string): string {
  return `<figure><img src="${src}" width="${width}" height="${height}" alt="${esc(alt)}"><figcaption>${caption}</figcaption></figure>`;
}

function imageSection(report: VisualReport, img: ReportImage): string {
  const { crop, zoom } = img;
  const [w, h] = [crop.width * zoom, crop.height * zoom];
  const pct = (v: number, total: number) => ((100 * v) / total).toFixed(3);
  const where =
    `<figure class="where"><div class="thumb"><img src="${dataUri(img.thumbnail)}" alt="${esc(img.name)}, whole image">` +
    `<div class="box" style="left:${pct(crop.x, img.width)}%;top:${pct(crop.y, img.height)}%;width:${pct(crop.width, img.width)}%;height:${pct(crop.height, img.height)}%"></div></div>` +
    `<figcaption>${img.width}x${img.height}<br>crop ${crop.width}x${crop.height} at (${crop.x}, ${crop.y})</figcaption></figure>`;
  const panels = report.methods.map((m, i) =>
    figure(dataUri(img.crops[i]), w, h, `<b>${esc(m)}</b><br>${scoreCaption(img.scores[i])}`, `${m}, ${img.name}`),
  );
  panels.push(figure(dataUri(img.hrCrop), w, h, '<b>HR</b><br>ground truth', `HR, ${img.name}`));
  // The slider's two images are filled in by the script from the panels above, so each crop is
  // stored once in the page.
  const options = [...report.methods.slice(1), 'HR']
    .map((m, i) => `<option value="${i + 1}"${i === 0 ? ' selected' : ''}>${esc(m)}</option>`)
    .join('');
  const slider = `<div class="slider" hidden>
<div class="stage" style="width:${w}px;height:${h}px"><img class="before" width="${w}" height="${h}" alt="before"><img class="after" width="${w}" height="${h}" alt="after"><div class="handle"></div></div>
<div class="controls"><span>◀ <b>${esc(report.methods[0])}</b></span><input type="range" min="0" max="100" value="50" aria-label="split position"><span><select aria-label="right-hand image">${options}</select> ▶</span></div>
</div>`;
  return `<section class="sample" id="${anchor(img.name)}">
<h2>${esc(img.name)}</h2>
<div class="row">${where}${panels.join('')}</div>
${slider}
</section>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px}
.meta,.note{color:#555;margin:4px 0 16px}
table{border-collapse:collapse;margin:8px 0 16px;background:#fff}
th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}th{background:#f0f0f0;text-align:center}
td:first-child{text-align:left}tr.mean td{font-weight:bold;border-top:2px solid #999}
td.gain{color:#1a7f37}
section.sample{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:12px 16px;margin:0 0 18px}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:0;text-align:center}figcaption{font-size:12px;color:#444;margin-top:4px}
.row img,.stage img{image-rendering:pixelated;display:block}
.thumb{position:relative;display:inline-block;line-height:0}.thumb img{max-width:160px;max-height:160px}
.box{position:absolute;border:2px solid #e63946;box-sizing:border-box}
.slider{margin-top:12px}
.stage{position:relative;overflow:hidden;border:1px solid #ccc}
.stage img{position:absolute;left:0;top:0}
.stage .handle{position:absolute;top:0;bottom:0;width:2px;background:#e63946;left:50%;pointer-events:none}
.controls{display:flex;gap:8px;align-items:center;margin-top:6px;font-size:13px}
.controls input{flex:0 1 240px}
`;

/**
 * The slider clips the right-hand image to the part right of the handle. The last block records
 * on <html> how many images decoded (data-images-loaded / -total) and the table's rendered
 * height, so a headless browser can check the page (test/report/chromium.test.ts).
 */
const SCRIPT = `
(function(){
  function setup(section){
    var panels=section.querySelectorAll('.row figure:not(.where) img');
    var slider=section.querySelector('.slider');
    var before=slider.querySelector('img.before'),after=slider.querySelector('img.after');
    var range=slider.querySelector('input'),select=slider.querySelector('select'),handle=slider.querySelector('.handle');
    before.src=panels[0].src;
    function show(){
      var p=range.value;
      after.src=panels[Number(select.value)].src;
      after.style.clipPath='inset(0 0 0 '+p+'%)';
      handle.style.left=p+'%';
    }
    range.addEventListener('input',show);select.addEventListener('change',show);
    show();slider.hidden=false;
  }
  document.querySelectorAll('section.sample').forEach(setup);
  window.addEventListener('load',function(){
    var imgs=Array.prototype.slice.call(document.images);
    Promise.all(imgs.map(function(img){
      return img.complete?null:new Promise(function(done){img.addEventListener('load',done);img.addEventListener('error',done);});
    })).then(function(){
      var root=document.documentElement;
      root.setAttribute('data-images-total',String(imgs.length));
      root.setAttribute('data-images-loaded',String(imgs.filter(function(i){return i.complete&&i.naturalWidth>0;}).length));
      root.setAttribute('data-table-height',String(document.getElementById('metrics').offsetHeight));
    });
  });
})();
`;

export function renderReportHtml(report: VisualReport): string {
  if (report.methods.length === 0) throw new Error('a report needs at least one method');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(report.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(report.title)}</h1>
<p class="meta">${report.details.map(esc).join(' · ')}</p>
${metricsTable(report)}
<p class="note">${esc(report.cropNote)}</p>
${report.images.map((img) => imageSection(report, img)).join('\n')}
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** Writes the page atomically; a write failure is one line naming the file. */
export async function writeReport(file: string, report: VisualReport): Promise<void> {
  await writeOutput(file, renderReportHtml(report));
}

/** Atomic write with the file named in any error. */
export async function writeOutput(file: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(file, data);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SrError(`${file}: cannot write (${code ?? (err as Error).message})`);
  }
}
