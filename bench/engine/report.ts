/** A readable table of a results object, for the terminal. */
import type { BenchResults } from './harness.js';
import { SYSTEMS } from './types.js';

function cell(value: string, width: number): string {
  return value.length >= width ? value : value + ' '.repeat(width - value.length);
}

export function formatTable(results: BenchResults): string {
  const { machine, settings } = results;
  const lines = [
    `machine: ${machine.cpu_model}, ${machine.cores} cores, node ${machine.node_version}, onnxruntime-node ${machine.onnxruntime_node_version}, transformers.js ${machine.transformers_js_version}`,
    `load average at start ${machine.load_average_start.join(' ')}, at end ${machine.load_average_end.join(' ')}`,
    `device ${settings.device}; threads intra ${settings.threads.intra_op} / inter ${settings.threads.inter_op}, spinning ${settings.threads.spinning ? 'on' : 'off'}; ${settings.warmup_runs} warmup + ${settings.timed_runs} timed runs`,
  ];
  const header = ['scenario', 'system', 'median ms', 'p95 ms', 'tokens/s', 'in ORT ms', 'RSS MB'];
  const widths = [14, 17, 11, 11, 10, 11, 8];
  for (const model of results.models) {
    lines.push('', `model ${model.name}: ${model.params_millions}M params, ${model.layers} layers, hidden ${model.hidden}`);
    lines.push(header.map((text, i) => cell(text, widths[i])).join(''));
    for (const scenario of model.scenarios) {
      for (const system of SYSTEMS) {
        const figures = scenario.systems[system];
        if (!figures) continue;
        const values =
          'unsupported' in figures
            ? [scenario.name, system, 'unsupported']
            : [scenario.name, system, figures.median_ms, figures.p95_ms, figures.tokens_per_s, figures.session_run_median_ms, figures.peak_rss_mb].map(String);
        lines.push(values.map((text, i) => cell(text, widths[i] ?? 0)).join(''));
      }
      const { banter_vs_transformers_js_speedup: speedup, banter_vs_floor_time: floor, banter_vs_own_session_run_time: own } = scenario.ratios;
      const times = (ratio: number | null) => (ratio === null ? 'n/a' : `${ratio}x`);
      lines.push(`  banter/transformers.js speedup ${times(speedup)}, banter/floor time ${times(floor)}, banter/its own session.run time ${times(own)}`);
    }
  }
  return lines.join('\n');
}
