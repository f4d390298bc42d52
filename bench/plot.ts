import { chromium } from 'playwright-core';

export interface Series {
  name: string;
  samplesMs: number[];
}

/** Draws each latency distribution as a histogram (SVG) and renders it to PNG in headless Chromium. */
export async function plotDistributions(series: Series[], title: string, pngPath: string, chromiumPath: string): Promise<void> {
  const width = 900;
  const rowHeight = 220;
  const charts = series.map((s, index) => histogramSvg(s, index * rowHeight, width, rowHeight - 30)).join('');
  const html = `<!doctype html><html><body style="margin:0;background:#fff;font:13px sans-serif">
    <svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${series.length * rowHeight + 40}">
      <text x="20" y="24" font-size="16" font-weight="bold">${escape(title)}</text>
      <g transform="translate(0,40)">${charts}</g>
    </svg></body></html>`;
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
  try {
    const page = await browser.newPage({ viewport: { width, height: series.length * rowHeight + 40 } });
    await page.setContent(html);
    await page.screenshot({ path: pngPath, fullPage: true });
  } finally {
    await browser.close();
  }
}

function histogramSvg(series: Series, top: number, width: number, height: number): string {
  const samples = series.samplesMs;
  const max = Math.max(...samples, 1);
  const bins = 40;
  const counts = new Array<number>(bins).fill(0);
  for (const value of samples) counts[Math.min(bins - 1, Math.floor((value / max) * bins))]! += 1;
  const highest = Math.max(...counts, 1);
  const left = 60;
  const plotWidth = width - left - 30;
  const barWidth = plotWidth / bins;
  const bars = counts.map((count, i) => {
    const h = (count / highest) * (height - 40);
    return `<rect x="${left + i * barWidth}" y="${top + height - 20 - h}" width="${barWidth - 1}" height="${h}" fill="#128c7e"/>`;
  }).join('');
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  const markers = [50, 95, 99].map((p) => {
    const x = left + (pct(p) / max) * plotWidth;
    return `<line x1="${x}" x2="${x}" y1="${top + 10}" y2="${top + height - 20}" stroke="#b31d28" stroke-dasharray="3 3"/><text x="${x + 3}" y="${top + 22}" fill="#b31d28">p${p} ${pct(p).toFixed(1)} ms</text>`;
  }).join('');
  return `<text x="20" y="${top + 4}" font-weight="bold">${escape(series.name)} (n=${samples.length})</text>${bars}${markers}
    <line x1="${left}" x2="${left + plotWidth}" y1="${top + height - 20}" y2="${top + height - 20}" stroke="#333"/>
    <text x="${left}" y="${top + height - 4}">0 ms</text><text x="${left + plotWidth - 60}" y="${top + height - 4}">${max.toFixed(1)} ms</text>`;
}

function escape(text: string): string {
  return text.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c] ?? c);
}
