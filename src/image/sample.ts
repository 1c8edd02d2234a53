/**
 * The test card the project draws itself (so its licence is ours), `sr demo --sample card`: fine
 * line fans, text, circles, a colour gradient and a checkerboard — the things super-resolution gets
 * right or visibly wrong. Drawn shapes flatter no model, so the demo defaults to a photograph.
 */
import sharp from 'sharp';

function fan(cx: number, cy: number, r: number, lines: number, color: string): string {
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    const a = (Math.PI / 2) * (i / (lines - 1));
    parts.push(
      `<line x1="${cx}" y1="${cy}" x2="${(cx + r * Math.cos(a)).toFixed(2)}" y2="${(cy - r * Math.sin(a)).toFixed(2)}" stroke="${color}" stroke-width="0.8"/>`,
    );
  }
  return parts.join('');
}

function checkerboard(x: number, y: number, cell: number, n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if ((i + j) % 2 === 0) parts.push(`<rect x="${x + j * cell}" y="${y + i * cell}" width="${cell}" height="${cell}" fill="#222"/>`);
    }
  return parts.join('');
}

export function sampleSvg(size = 256): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 256 256">
  <defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#e63946"/><stop offset="0.5" stop-color="#f1c40f"/><stop offset="1" stop-color="#1d3557"/></linearGradient></defs>
  <rect width="256" height="256" fill="#f4f1ea"/>
  <rect x="8" y="8" width="240" height="28" fill="url(#g)"/>
  ${fan(12, 160, 110, 36, '#1d3557')}
  <circle cx="190" cy="100" r="40" fill="none" stroke="#2a9d8f" stroke-width="3"/>
  <circle cx="190" cy="100" r="24" fill="none" stroke="#e76f51" stroke-width="1.5"/>
  <circle cx="190" cy="100" r="10" fill="#264653"/>
  ${checkerboard(150, 160, 4, 10)}
  <text x="12" y="190" font-family="sans-serif" font-size="18" fill="#111">sr · 4x</text>
  <text x="12" y="212" font-family="serif" font-size="9.5" fill="#111">The quick brown fox jumps over the lazy dog</text>
  <text x="12" y="228" font-family="monospace" font-size="8" fill="#333">0123456789 PSNR SSIM Y-channel bicubic</text>
  <text x="12" y="242" font-family="sans-serif" font-size="6" fill="#333">fine print: resolution test chart drawn by sr</text>
</svg>`;
}

/** The test card as a PNG buffer (RGB, 8-bit). */
export async function drawSample(size = 256): Promise<Buffer> {
  return sharp(Buffer.from(sampleSvg(size)))
    .flatten({ background: '#f4f1ea' })
    .png()
    .toBuffer();
}
