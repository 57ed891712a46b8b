/** A hand-written SVG of the load benchmark: turns/s and p95 latency per number of conversations, serial beside batched. */
import { escape, formatRate, niceMax } from '../engine/plot.js';
import type { LoadReport, ModeFigures, ModeName } from './report.js';

const COLORS: Record<ModeName, string> = { serial: '#8a8a8a', batched: '#2f6fdf' };
const WIDTH = 640;
const PANEL_HEIGHT = 260;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 40 };

function panel(report: LoadReport, title: string, unit: string, value: (figures: ModeFigures) => number, offsetY: number): string[] {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const x0 = MARGIN.left;
  const y0 = offsetY + MARGIN.top;
  const top = niceMax(Math.max(0, ...report.sizes.flatMap((row) => [value(row.serial), value(row.batched)])));
  const y = (v: number) => y0 + plotHeight - (v / top) * plotHeight;
  const parts = [`<text x="${x0}" y="${offsetY + 24}" font-size="15" font-weight="bold">${escape(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    parts.push(
      `<line x1="${x0}" x2="${x0 + plotWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#e2e2e2"/>`,
      `<text x="${x0 - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${formatRate(v)}</text>`,
    );
  }
  parts.push(`<text transform="translate(${x0 - 50} ${y0 + plotHeight / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escape(unit)}</text>`);
  const groupWidth = plotWidth / Math.max(1, report.sizes.length);
  const barWidth = Math.min(50, (groupWidth * 0.7) / 2);
  report.sizes.forEach((row, group) => {
    const start = x0 + group * groupWidth + (groupWidth - barWidth * 2) / 2;
    (['serial', 'batched'] as const).forEach((mode, index) => {
      const v = value(row[mode]);
      const x = start + index * barWidth;
      parts.push(
        `<rect x="${x + 1}" y="${y(v)}" width="${barWidth - 2}" height="${y0 + plotHeight - y(v)}" fill="${COLORS[mode]}"><title>${escape(`${mode}, ${row.conversations} conversations: ${formatRate(v)} ${unit}`)}</title></rect>`,
        `<text x="${x + barWidth / 2}" y="${y(v) - 4}" font-size="10" text-anchor="middle">${formatRate(v)}</text>`,
      );
    });
    parts.push(`<text x="${x0 + group * groupWidth + groupWidth / 2}" y="${y0 + plotHeight + 18}" font-size="12" text-anchor="middle">${row.conversations} conversations</text>`);
  });
  parts.push(`<line x1="${x0}" x2="${x0 + plotWidth}" y1="${y0 + plotHeight}" y2="${y0 + plotHeight}" stroke="#333"/>`);
  return parts;
}

export function renderLoadPlot(report: LoadReport): string {
  const legendHeight = 36;
  const height = legendHeight + 2 * PANEL_HEIGHT + 24;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  const labels: Record<ModeName, string> = { serial: 'serial (1 turn at a time)', batched: `batched (${report.settings.batched_max_concurrent_generations} at once)` };
  (['serial', 'batched'] as const).forEach((mode, index) => {
    const x = MARGIN.left + index * 220;
    parts.push(`<rect x="${x}" y="12" width="14" height="14" fill="${COLORS[mode]}"/>`, `<text x="${x + 20}" y="24" font-size="13">${escape(labels[mode])}</text>`);
  });
  parts.push(...panel(report, 'Turns per second (higher is better)', 'turns / s', (f) => f.turns_per_s, legendHeight));
  parts.push(...panel(report, 'p95 latency per turn (lower is better)', 'seconds', (f) => f.p95_ms / 1000, legendHeight + PANEL_HEIGHT));
  const { machine, settings } = report;
  parts.push(
    `<text x="${MARGIN.left}" y="${height - 8}" font-size="10" fill="#555">${escape(
      `web chat over WebSocket, ${settings.messages} messages per conversation; ${machine.cpu_model}, ${machine.cores} cores; load avg ${machine.load_average_start[0]}; ${report.date.slice(0, 10)}`,
    )}</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}
