/** The report building blocks: crop choice, nearest zoom, the labelled grid and the HTML page. */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { imageToTensor } from '../../src/image/tensor';
import { interpolationUpscaler } from '../../src/infer';
import { evaluate } from '../../src/infer/evaluate';
import { writeImage } from '../../src/image/io';
import { checkCrop, cropToImage, largestWindow, zoomNearest } from '../../src/report/crop';
import { EvalReportCollector } from '../../src/report/entry';
import { fontsAvailable, renderGrid } from '../../src/report/grid';
import { renderReportHtml, writeReport } from '../../src/report/html';
import { tempDir, useTestBackend } from '../helpers/env';
import { flatImage, patternImage } from '../helpers/images';

beforeAll(useTestBackend);

describe('crop choice', () => {
  it('finds the window holding the largest error, kept off the border when it can be', () => {
    const [w, h] = [40, 30];
    const map = new Float32Array(w * h);
    for (let y = 12; y < 16; y++) for (let x = 25; x < 29; x++) map[y * w + x] = 1;
    expect(largestWindow(map, w, h, 4, 4)).toEqual({ x: 25, y: 12, width: 4, height: 4 });
    // A hot spot in the corner: with a border of 3 the window stops 3 pixels in.
    map.fill(0);
    map[0] = 5;
    expect(largestWindow(map, w, h, 8, 8, 3)).toEqual({ x: 3, y: 3, width: 8, height: 8 });
    expect(largestWindow(map, w, h, 8, 8, 0)).toEqual({ x: 0, y: 0, width: 8, height: 8 });
    // A crop larger than the image is the whole image.
    expect(largestWindow(map, w, h, 96, 96, 4)).toEqual({ x: 0, y: 0, width: 40, height: 30 });
  });

  it('rejects a crop outside the image', () => {
    expect(() => checkCrop({ x: 30, y: 0, width: 20, height: 10 }, 40, 30)).toThrow(/does not fit inside the 40x30 image/);
    expect(() => checkCrop({ x: 0, y: 0, width: 40, height: 30 }, 40, 30)).not.toThrow();
  });
});

test('nearest zoom makes each pixel a block and a crop keeps the exact values', async () => {
  const image = patternImage(9, 7, 3);
  const zoomed = zoomNearest(image, 3);
  expect([zoomed.width, zoomed.height]).toEqual([27, 21]);
  for (const [x, y] of [
    [0, 0],
    [8, 6],
    [4, 2],
  ]) {
    for (let dy = 0; dy < 3; dy++)
      for (let dx = 0; dx < 3; dx++)
        for (let c = 0; c < 3; c++) {
          expect(zoomed.data[((y * 3 + dy) * 27 + x * 3 + dx) * 3 + c]).toBe(image.data[(y * 9 + x) * 3 + c]);
        }
  }
  const t = imageToTensor(image);
  const crop = await cropToImage(t, { x: 2, y: 1, width: 4, height: 3 }, 2);
  t.dispose();
  expect([crop.width, crop.height, crop.channels]).toEqual([8, 6, 3]);
  expect(Array.from(crop.data.subarray(0, 3))).toEqual(Array.from(image.data.subarray((1 * 9 + 2) * 3, (1 * 9 + 2) * 3 + 3)));
});

async function decodePng(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe('labelled grid', () => {
  const a = flatImage(30, 20, [200, 30, 30]);
  const b = flatImage(30, 20, [30, 30, 200]);

  it('places every image unchanged, one column each, and grows with more columns', async () => {
    const columns = [
      { label: 'HR', lines: ['ground truth'], image: a },
      { label: 'model', lines: ['PSNR 30.00 dB', 'SSIM 0.9000'], image: b },
    ];
    const two = await renderGrid(columns);
    const three = await renderGrid([...columns, columns[1]]);
    expect(three.width).toBeGreaterThan(two.width);
    const decoded = await decodePng(two.png);
    expect([decoded.width, decoded.height]).toEqual([two.width, two.height]);
    two.panels.forEach((p, i) => {
      const colour = i === 0 ? [200, 30, 30] : [30, 30, 200];
      for (const [x, y] of [
        [0, 0],
        [29, 19],
        [15, 10],
      ]) {
        const at = ((p.top + y) * decoded.width + p.left + x) * 3;
        expect(Array.from(decoded.data.subarray(at, at + 3))).toEqual(colour);
      }
    });
  });

  it('draws the labels in the header when a font is available', async () => {
    const grid = await renderGrid([{ label: 'bicubic', lines: ['PSNR 1 dB'], image: a }]);
    const other = await renderGrid([{ label: 'SRGAN', lines: ['PSNR 2 dB'], image: a }]);
    expect(grid.labelsRendered).toBe(await fontsAvailable());
    const decoded = await decodePng(grid.png);
    const headerRows = decoded.data.subarray(0, grid.panels[0].top * decoded.width * 3);
    const dark = headerRows.filter((v) => v < 128).length;
    if (grid.labelsRendered) {
      expect(dark).toBeGreaterThan(20);
      expect((await decodePng(other.png)).data.equals(decoded.data)).toBe(false);
    } else {
      expect(dark).toBe(0);
    }
  });
});

describe('HTML report', () => {
  let html: string;
  const dir = tempDir('sr-report-');

  beforeAll(async () => {
    const hrDir = path.join(dir, 'hr');
    fs.mkdirSync(hrDir);
    await writeImage(path.join(hrDir, 'one.png'), patternImage(60, 48, 3));
    await writeImage(path.join(hrDir, 'two <&>.png'), patternImage(40, 40, 1));
    const upscaler = interpolationUpscaler('bilinear', 2);
    const collector = new EvalReportCollector({ model: 'bilinear', scale: 2, channel: 'y', zoom: 2, cropSize: 24 });
    const result = await evaluate({
      datasetName: 'tiny',
      images: [path.join(hrDir, 'one.png'), path.join(hrDir, 'two <&>.png')],
      upscaler,
      onScored: (s) => collector.add(s),
    });
    const report = collector.report(result.dataset);
    // The model's scores in the page are the evaluation's own.
    expect(report.images.map((i) => i.scores[1].psnr)).toEqual(result.images.map((i) => i.psnr));
    expect(report.mean[1].psnr).toBeCloseTo(result.mean.psnr, 10);
    // Bicubic beats bilinear on this smooth pattern: the baseline column really is bicubic.
    expect(report.mean[0].psnr).toBeGreaterThan(report.mean[1].psnr);
    html = renderReportHtml(report);
    await writeReport(path.join(dir, 'report.html'), report);
  });

  it('is self-contained: every image a PNG data URI, nothing fetched', () => {
    const sources = [...html.matchAll(/<img\b[^>]*?\bsrc="([^"]*)"/g)].map((m) => m[1]);
    // Per image: thumbnail, bicubic, model and HR crops (the slider takes its sources from them).
    expect(sources).toHaveLength(8);
    for (const src of sources) expect(src).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    expect(html).not.toMatch(/\b(src|href)="(https?:|\/\/|file:)/);
    expect(html).not.toMatch(/<link\b|@import|url\(/);
  });

  it('has the metrics table with a row per image and the mean, names escaped', () => {
    const table = html.slice(html.indexOf('<table id="metrics">'), html.indexOf('</table>'));
    expect(table.match(/<tr class="image">/g)).toHaveLength(2);
    expect(table).toMatch(/<tr class="mean">/);
    expect(table).toContain('two &lt;&amp;&gt;');
    expect(html).not.toContain('two <&>');
  });

  it('crops are enlarged by the zoom and written atomically', async () => {
    const first = html.match(/<figure><img src="data:image\/png;base64,([^"]+)" width="(\d+)" height="(\d+)"/)!;
    const meta = await sharp(Buffer.from(first[1], 'base64')).metadata();
    expect([meta.width, meta.height]).toEqual([48, 48]);
    expect([Number(first[2]), Number(first[3])]).toEqual([48, 48]);
    expect(fs.readFileSync(path.join(dir, 'report.html'), 'utf8')).toBe(html);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a write into a missing folder fails naming the file', async () => {
    const target = path.join(dir, 'missing', 'r.html');
    await expect(
      writeReport(target, { title: 't', details: [], methods: ['bicubic'], cropNote: '', images: [], mean: [{ psnr: 1, ssim: 1 }] }),
    ).rejects.toThrow(new RegExp(`${target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot write`));
  });
});
