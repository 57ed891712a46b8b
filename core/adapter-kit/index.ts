/**
 * The adapter kit: what every platform adapter needs besides its platform's API. Which places it
 * answers in (allow/deny filters), who is an admin, replies split to the platform's message size,
 * typing while a message waits and while it is answered, and the answers underway drained on stop.
 * The Discord, Slack and web adapters are built on it; CONTRIBUTING.md shows a new one.
 */
export { isConfiguredAdmin, type AdminConfig, type PlatformPerson } from './admin.js';
export { InFlight } from './drain.js';
export { idFilterSchema, passesFilter, type IdFilter } from './filters.js';
export { splitMessage } from './split.js';
export { TypingIndicators, type TypingTarget } from './typing.js';
