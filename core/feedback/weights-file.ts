/** Writing fitted selection weights into a bot config or preset file, keeping the rest of the file (YAML comments included). */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';

/** Sets `selection.weights.<name>` for each weight given; other weights and settings stay as written. */
export async function writeSelectionWeights(file: string, weights: Record<string, number>): Promise<void> {
  const text = await readFile(file, 'utf8');
  let updated: string;
  if (extname(file).toLowerCase() === '.json') {
    const data = JSON.parse(text) as { selection?: { weights?: Record<string, number> } };
    data.selection = { ...data.selection, weights: { ...data.selection?.weights, ...weights } };
    updated = `${JSON.stringify(data, null, 2)}\n`;
  } else {
    const document = parseDocument(text);
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
    for (const [name, value] of Object.entries(weights)) document.setIn(['selection', 'weights', name], value);
    updated = document.toString();
  }
  // Written beside and renamed over, so an interrupted write never leaves half a config.
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, updated);
  await rename(temporary, file);
}

/** Weights as they are worth writing: four significant digits. */
export function roundWeights(weights: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(weights).map(([name, value]) => [name, Number(value.toPrecision(4))]));
}
