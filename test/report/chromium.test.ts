/**
 * The HTML report in a real browser: headless Chromium loads a report made from small generated
 * images and the page's own check (data attributes on <html>) must say every image decoded and the
 * metrics table has a height; a screenshot must show the crops. Skips when Chromium is not
 * installed here (.ci/run installs Debian's `chromium` package, so CI runs it).
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFile } from 'child_process';
import { pathToFileURL } from 'url';
import sharp from 'sharp';
import { writeImage } from '../../src/image/io';
import { interpolationUpscaler } from '../../src/infer';
import { evaluate } from '../../src/infer/evaluate';
import { EvalReportCollector } from '../../src/report/entry';
import { writeReport } from '../../src/report/html';
import { tempDir, useTestBackend } from '../helpers/env';
import { patternImage } from '../helpers/images';

function findChromium(): string | undefined {
  const names = process.env.SR_CHROMIUM ? [process.env.SR_CHROMIUM] : ['chromium', 'chromium-browser', 'google-chrome'];
  for (const name of names) {
    if (path.isAbsolute(name)) {
      if (fs.existsSync(name)) return name;
      continue;
    }
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      const candidate = path.join(dir, name);
      if (dir && fs.existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

const chromium = findChromium();

function runChromium(args: string[], profile: string): Promise<string> {
  const base = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`];
  return new Promise((resolve, reject) => {
    execFile(chromium!, [...base, ...args], { timeout: 90_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

if (!chromium) {
  describe.skip('HTML report in Chromium (skipped: no chromium on PATH; `apt-get install chromium`, as .ci/run does)', () => {
    it('needs chromium', () => undefined);
  });
} else {
  describe('HTML report in Chromium', () => {
    const dir = tempDir('sr-chromium-');
    const report = path.join(dir, 'report.html');
    const url = pathToFileURL(report).href;

    beforeAll(async () => {
      await useTestBackend();
      const hrDir = path.join(dir, 'hr');
      fs.mkdirSync(hrDir);
      await writeImage(path.join(hrDir, 'colour.png'), patternImage(60, 48, 3));
      await writeImage(path.join(hrDir, 'gray.png'), patternImage(40, 40, 1));
      const collector = new EvalReportCollector({ model: 'bilinear', scale: 2, channel: 'y', zoom: 3, cropSize: 32 });
      const images = ['colour.png', 'gray.png'].map((f) => path.join(hrDir, f));
      const result = await evaluate({
        datasetName: 'generated',
        images,
        upscaler: interpolationUpscaler('bilinear', 2),
        onScored: (s) => collector.add(s),
      });
      await writeReport(report, collector.report(result.dataset));
    });

    it('decodes every image, fills the sliders and lays out the metrics table', async () => {
      const dom = await runChromium(['--virtual-time-budget=10000', '--dump-dom', url], path.join(dir, 'profile-dom'));
      const root = dom.match(/<html[^>]*>/)![0];
      const attr = (name: string) => Number((root.match(new RegExp(`${name}="(\\d+)"`)) ?? [])[1]);
      // Per image: thumbnail, bicubic, model, HR, and the slider's two.
      expect(attr('data-images-total')).toBe(12);
      expect(attr('data-images-loaded')).toBe(12);
      expect(attr('data-table-height')).toBeGreaterThan(60);
      expect(dom.match(/<div class="slider">/g)).toHaveLength(2);
      expect(dom).not.toMatch(/<div class="slider" hidden/);
      expect(dom).toMatch(/<img class="after"[^>]*src="data:image\/png;base64,/);
    });

    it('paints the crops (the screenshot is far from blank)', async () => {
      const shot = path.join(dir, 'shot.png');
      await runChromium(['--window-size=1000,700', '--hide-scrollbars', `--screenshot=${shot}`, url], path.join(dir, 'profile-shot'));
      const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([1000, 700]);
      // Strongly coloured pixels: the page's own accents (links, gains, the crop box) give under a
      // thousand even with every image broken; the colour pattern's crops give many thousands.
      let saturated = 0;
      for (let i = 0; i < data.length; i += 3) {
        if (Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) saturated++;
      }
      expect(saturated).toBeGreaterThan(8000);
    });
  });
}
