/**
 * A labelled grid: images side by side, each under a header of text lines (a label, then e.g.
 * its scores). The text is an SVG overlay composited by sharp, which renders it with librsvg and
 * the system's fonts; where no font renders, the grid is still made, without text, and says so.
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { Image } from '../image/io';

export interface GridColumn {
  /** First header line, in bold. */
  label: string;
  /** Further header lines (scores), smaller. */
  lines?: string[];
  /** 8-bit RGB (all columns the same size). */
  image: Image;
}

export interface Grid {
  png: Buffer;
  width: number;
  height: number;
  /** False when no font on this machine could draw the header text. */
  labelsRendered: boolean;
  /** Where each column's image was placed, in grid pixels. */
  panels: { left: number; top: number; width: number; height: number }[];
}

const MARGIN = 10;
const GAP = 10;
const LABEL_SIZE = 15;
const LINE_SIZE = 12;
const LINE_GAP = 4;
/** A slot grows with its text up to this width; longer labels are cut with an ellipsis. */
const MAX_TEXT_WIDTH = 260;
const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';
const BACKGROUND = { r: 255, g: 255, b: 255 };

/** A generous estimate of a text's width (DejaVu Sans averages about 0.6 em per character). */
function textWidth(text: string, size: number, bold = false): number {
  return text.length * size * (bold ? 0.66 : 0.6);
}

function fitText(text: string, size: number, width: number, bold = false): string {
  if (textWidth(text, size, bold) <= width) return text;
  const keep = Math.max(1, Math.floor(width / (size * (bold ? 0.66 : 0.6))) - 1);
  return text.slice(0, keep) + '…';
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

let fontCheck: Promise<boolean> | undefined;

/** Whether sharp can draw text here at all (a machine without fonts draws nothing, silently). */
export function fontsAvailable(): Promise<boolean> {
  fontCheck ??= (async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="60" height="24"><rect width="60" height="24" fill="#fff"/><text x="4" y="18" font-family="${FONT_FAMILY}" font-size="16" fill="#000">Hg8</text></svg>`;
    try {
      const { data } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return data.some((v) => v < 128);
    } catch {
      return false;
    }
  })();
  return fontCheck;
}

/** Draws the columns left to right on white, each image centred under its header. */
export async function renderGrid(columns: GridColumn[]): Promise<Grid> {
  if (columns.length === 0) throw new Error('a grid needs at least one column');
  const { width: imageWidth, height: imageHeight } = columns[0].image;
  for (const c of columns) {
    if (c.image.width !== imageWidth || c.image.height !== imageHeight || c.image.channels !== 3 || c.image.bitDepth !== 8) {
      throw new Error(`grid columns must all be ${imageWidth}x${imageHeight} 8-bit RGB ('${c.label}' is not)`);
    }
  }
  const lineCount = Math.max(...columns.map((c) => c.lines?.length ?? 0));
  const headerHeight = LABEL_SIZE + LINE_GAP + lineCount * (LINE_SIZE + LINE_GAP) + LINE_GAP;
  const slotWidths = columns.map((c) => {
    const text = Math.max(textWidth(c.label, LABEL_SIZE, true), ...(c.lines ?? []).map((l) => textWidth(l, LINE_SIZE)));
    return Math.max(imageWidth, Math.min(MAX_TEXT_WIDTH, Math.ceil(text)));
  });
  const width = 2 * MARGIN + slotWidths.reduce((a, b) => a + b, 0) + GAP * (columns.length - 1);
  const height = 2 * MARGIN + headerHeight + imageHeight;

  const texts: string[] = [];
  const composites: OverlayOptions[] = [];
  const panels: Grid['panels'] = [];
  let left = MARGIN;
  columns.forEach((c, i) => {
    const slot = slotWidths[i];
    const centre = left + slot / 2;
    let baseline = MARGIN + LABEL_SIZE;
    texts.push(
      `<text x="${centre}" y="${baseline}" font-size="${LABEL_SIZE}" font-weight="bold">${escapeXml(fitText(c.label, LABEL_SIZE, slot, true))}</text>`,
    );
    for (const line of c.lines ?? []) {
      baseline += LINE_GAP + LINE_SIZE;
      texts.push(
        `<text x="${centre}" y="${baseline}" font-size="${LINE_SIZE}" fill="#444">${escapeXml(fitText(line, LINE_SIZE, slot))}</text>`,
      );
    }
    const panel = { left: Math.round(left + (slot - imageWidth) / 2), top: MARGIN + headerHeight, width: imageWidth, height: imageHeight };
    panels.push(panel);
    composites.push({
      input: Buffer.from(c.image.data.buffer, c.image.data.byteOffset, c.image.data.byteLength),
      raw: { width: imageWidth, height: imageHeight, channels: 3 },
      left: panel.left,
      top: panel.top,
    });
    left += slot + GAP;
  });
  const labelsRendered = await fontsAvailable();
  if (labelsRendered) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="${FONT_FAMILY}" text-anchor="middle" fill="#111">${texts.join('')}</g></svg>`;
    composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  }
  const png = await sharp({ create: { width, height, channels: 3, background: BACKGROUND } })
    .composite(composites)
    .png({ compressionLevel: 9 })
    .toBuffer();
  return { png, width, height, labelsRendered, panels };
}
