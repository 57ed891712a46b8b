/** Which places (guilds, channels, workspaces) an adapter answers in: allow- and deny-lists of ids. */
import type { JSONSchema } from '../types.js';

/** Allow- and deny-lists of ids. An empty allow-list allows everything; deny always wins. */
export interface IdFilter {
  allow: string[];
  deny: string[];
}

/** The JSON Schema of an `IdFilter` config section whose ids match `ids` (a platform's id format); both lists default to empty. */
export function idFilterSchema(ids: JSONSchema = { type: 'array', items: { type: 'string', minLength: 1 } }): JSONSchema {
  const list = { ...ids, default: [] };
  return { type: 'object', additionalProperties: false, properties: { allow: list, deny: list }, default: {} };
}

/**
 * Whether a place passes: `ids` are the place and what contains it (a thread and its parent channel),
 * null where there is none. Denied if any is denied; allowed if the allow-list is empty or names any.
 */
export function passesFilter(filter: IdFilter, ids: readonly (string | null | undefined)[]): boolean {
  const present = ids.filter((id): id is string => typeof id === 'string');
  if (present.some((id) => filter.deny.includes(id))) return false;
  return filter.allow.length === 0 || present.some((id) => filter.allow.includes(id));
}
