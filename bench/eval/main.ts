/** `npm run eval -- <grounding|safety|safety-functional|safety-chat|mmi|selection> [options]`: runs one evaluation and prints its report as JSON. */
import { evalGrounding } from './grounding.js';
import { evalMmi } from './mmi.js';
import { evalSafety } from './safety.js';
import { evalSafetyChat } from './safety-chat.js';
import { evalSelection } from './selection.js';
import { evalFunctionalShipped } from './safety-functional.js';

const EVALS: Record<string, (args: string[]) => Promise<Record<string, unknown>>> = {
  grounding: evalGrounding,
  safety: evalSafety,
  'safety-functional': evalFunctionalShipped,
  'safety-chat': evalSafetyChat,
  mmi: evalMmi,
  selection: evalSelection,
};

const [name, ...args] = process.argv.slice(2);
const run = name ? EVALS[name] : undefined;
if (!run) {
  process.stderr.write(`usage: npm run eval -- <${Object.keys(EVALS).join('|')}> [options]\n`);
  process.exit(2);
}
try {
  process.stdout.write(`${JSON.stringify(await run(args), null, 2)}\n`);
} catch (error) {
  process.stderr.write(`eval ${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
