/** Which places (guilds, channels, workspaces) an adapter answers in: allow- and deny-lists of ids. */
import type { JSONSchema } from '../types.js';

/** Allow- and deny-lists of ids. An empty allow-list allows everything; deny always wins. */
export interface IdFilter {
  allow: string[];
  deny: string[];
}

export const OPEN_FILTER: IdFilter = { allow: [], deny: [] };

const ids: JSONSchema = { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true };

/** The JSON Schema of an `IdFilter` config section. */
export const idFilterSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { allow: ids, deny: ids },
  description: 'Ids to answer in (empty: all) and ids never to answer in (wins over allow).',
};

/**
 * Whether a place passes: `ids` are the place and what contains it (a thread and its parent channel),
 * null where there is none. Denied if any is denied; allowed if the allow-list is empty or names any.
 */
export function passesFilter(filter: IdFilter, ids: readonly (string | null | undefined)[]): boolean {
  const present = ids.filter((id): id is string => typeof id === 'string');
  if (present.some((id) => filter.deny.includes(id))) return false;
  return filter.allow.length === 0 || present.some((id) => filter.allow.includes(id));
}
