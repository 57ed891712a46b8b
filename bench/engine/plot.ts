/** A hand-written SVG: grouped bars of tokens/s per scenario and system, one panel per model. */
import type { BenchResults, ModelResult } from './harness.js';
import { SYSTEMS, type SystemName } from './types.js';

const COLORS: Record<SystemName, string> = { banter: '#2f6fdf', 'transformers.js': '#f0a030', floor: '#8a8a8a' };
const PANEL_WIDTH = 640;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 70, right: 20, top: 50, bottom: 50 };

export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((factor) => factor * magnitude >= value)!;
  return step * magnitude;
}

export function formatRate(value: number): string {
  if (value === 0) return '0';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function panel(model: ModelResult, offsetY: number): string[] {
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const x0 = MARGIN.left;
  const y0 = offsetY + MARGIN.top;
  const rates = model.scenarios.flatMap((scenario) =>
    Object.values(scenario.systems).flatMap((figures) => (figures && !('unsupported' in figures) ? [figures.tokens_per_s] : [])),
  );
  const top = niceMax(Math.max(0, ...rates));
  const y = (value: number) => y0 + plotHeight - (value / top) * plotHeight;
  const parts = [
    `<text x="${x0}" y="${offsetY + 28}" font-size="15" font-weight="bold">${escape(model.name)} (${model.params_millions}M params, ${model.layers} layers, hidden ${model.hidden})</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const value = (top * i) / 4;
    parts.push(
      `<line x1="${x0}" x2="${x0 + plotWidth}" y1="${y(value)}" y2="${y(value)}" stroke="#e2e2e2"/>`,
      `<text x="${x0 - 6}" y="${y(value) + 4}" font-size="11" text-anchor="end">${formatRate(value)}</text>`,
    );
  }
  parts.push(`<text transform="translate(${x0 - 50} ${y0 + plotHeight / 2}) rotate(-90)" font-size="12" text-anchor="middle">tokens / s</text>`);
  const groupWidth = plotWidth / Math.max(1, model.scenarios.length);
  const barWidth = Math.min(40, (groupWidth * 0.8) / SYSTEMS.length);
  model.scenarios.forEach((scenario, group) => {
    const groupStart = x0 + group * groupWidth + (groupWidth - barWidth * SYSTEMS.length) / 2;
    SYSTEMS.forEach((system, index) => {
      const figures = scenario.systems[system];
      if (!figures) return;
      const x = groupStart + index * barWidth;
      if ('unsupported' in figures) {
        parts.push(`<text x="${x + barWidth / 2}" y="${y0 + plotHeight - 4}" font-size="10" text-anchor="middle" fill="${COLORS[system]}">n/a</text>`);
        return;
      }
      const barTop = y(figures.tokens_per_s);
      parts.push(
        `<rect x="${x + 1}" y="${barTop}" width="${barWidth - 2}" height="${y0 + plotHeight - barTop}" fill="${COLORS[system]}"><title>${escape(`${system}: ${figures.tokens_per_s} tokens/s, median ${figures.median_ms} ms`)}</title></rect>`,
        `<text x="${x + barWidth / 2}" y="${barTop - 4}" font-size="10" text-anchor="middle">${formatRate(figures.tokens_per_s)}</text>`,
      );
    });
    parts.push(`<text x="${x0 + group * groupWidth + groupWidth / 2}" y="${y0 + plotHeight + 18}" font-size="12" text-anchor="middle">${escape(scenario.name)}</text>`);
  });
  parts.push(`<line x1="${x0}" x2="${x0 + plotWidth}" y1="${y0 + plotHeight}" y2="${y0 + plotHeight}" stroke="#333"/>`);
  return parts;
}

export function renderPlot(results: BenchResults): string {
  const legendHeight = 40;
  const height = legendHeight + results.models.length * PANEL_HEIGHT + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL_WIDTH}" height="${height}" viewBox="0 0 ${PANEL_WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  SYSTEMS.forEach((system, index) => {
    const x = MARGIN.left + index * 150;
    parts.push(`<rect x="${x}" y="14" width="14" height="14" fill="${COLORS[system]}"/>`, `<text x="${x + 20}" y="26" font-size="13">${system}</text>`);
  });
  results.models.forEach((model, index) => parts.push(...panel(model, legendHeight + index * PANEL_HEIGHT)));
  const { machine, settings } = results;
  parts.push(
    `<text x="${MARGIN.left}" y="${height - 10}" font-size="10" fill="#555">${escape(
      `${machine.cpu_model}, ${machine.cores} cores; ORT threads ${settings.threads.intra_op}/${settings.threads.inter_op}; median of ${settings.timed_runs} runs; load avg ${machine.load_average_start[0]}; ${results.date.slice(0, 10)}`,
    )}</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}
