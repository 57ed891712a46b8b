export { conversationKey } from './key.js';
export { trimHistory, type HistoryLimits } from './trim.js';
export { openHistoryStore, HISTORY_NAMESPACE, type HistoryStore } from './store.js';
