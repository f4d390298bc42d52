import { chromium } from 'playwright-core';

export interface Series {
  name: string;
  samplesMs: number[];
}

/** Draws each latency distribution as a histogram (SVG) and renders it to PNG in headless Chromium. */
export async function plotDistributions(
  series: Series[],
  title: string,
  subtitle: string,
  pngPath: string,
  chromiumPath: string,
): Promise<void> {
  const width = 900;
  const rowHeight = 220;
  // One x scale for all: the baseline's distribution sits where it can be compared with the others at a glance.
  const highestMs = Math.max(...series.flatMap((s) => s.samplesMs), 1) * 1.05;
  const stepMs = niceCeiling(highestMs / 8);
  const scaleMs = stepMs * Math.ceil(highestMs / stepMs);
  const charts = series
    .map((s, index) => histogramSvg(s, index * rowHeight, width, rowHeight - 30, scaleMs, stepMs))
    .join('');
  const html = `<!doctype html><html><body style="margin:0;background:#fff;font:13px sans-serif">
    <svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${series.length * rowHeight + 56}">
      <text x="20" y="24" font-size="16" font-weight="bold">${escape(title)}</text>
      <text x="20" y="42" font-size="11" fill="#444">${escape(subtitle)}</text>
      <g transform="translate(0,56)">${charts}</g>
    </svg></body></html>`;
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width, height: series.length * rowHeight + 56 } });
    await page.setContent(html);
    await page.screenshot({ path: pngPath, fullPage: true });
  } finally {
    await browser.close();
  }
}

function histogramSvg(
  series: Series,
  top: number,
  width: number,
  height: number,
  scaleMs: number,
  step: number,
): string {
  const samples = series.samplesMs;
  const bins = 60;
  const counts = new Array<number>(bins).fill(0);
  for (const value of samples) counts[Math.min(bins - 1, Math.floor((value / scaleMs) * bins))]! += 1;
  const highest = Math.max(...counts, 1);
  const left = 60;
  const plotWidth = width - left - 30;
  const barWidth = plotWidth / bins;
  const baseY = top + height - 20;
  const bars = counts
    .map((count, i) => {
      const h = (count / highest) * (height - 70);
      return `<rect x="${left + i * barWidth}" y="${baseY - h}" width="${barWidth - 1}" height="${h}" fill="#128c7e"/>`;
    })
    .join('');
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  // Each percentile's label on a line of its own, so close percentiles never overprint each other.
  const markers = [50, 95, 99]
    .map((p, row) => {
      const x = left + (pct(p) / scaleMs) * plotWidth;
      const anchor = x > left + plotWidth * 0.8 ? 'end' : 'start';
      const labelX = anchor === 'end' ? x - 3 : x + 3;
      return (
        `<line x1="${x}" x2="${x}" y1="${top + 10}" y2="${baseY}" stroke="#b31d28" stroke-dasharray="3 3"/>` +
        `<text x="${labelX}" y="${top + 22 + row * 14}" fill="#b31d28" text-anchor="${anchor}">p${p} ${pct(p).toFixed(1)} ms</text>`
      );
    })
    .join('');
  const ticks: string[] = [];
  for (let value = 0; value <= scaleMs + 1e-9; value += step) {
    const x = left + (value / scaleMs) * plotWidth;
    ticks.push(
      `<line x1="${x}" x2="${x}" y1="${baseY}" y2="${baseY + 4}" stroke="#333"/><text x="${x}" y="${baseY + 16}" text-anchor="middle">${Math.round(value)}</text>`,
    );
  }
  return `<text x="20" y="${top + 4}" font-weight="bold">${escape(series.name)} (n=${samples.length})</text>${bars}${markers}
    <line x1="${left}" x2="${left + plotWidth}" y1="${baseY}" y2="${baseY}" stroke="#333"/>${ticks.join('')}
    <text x="${left + plotWidth}" y="${baseY + 30}" text-anchor="end">ms</text>`;
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((m) => m * power >= value) ?? 10) * power;
}

function escape(text: string): string {
  return text.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c] ?? c);
}
