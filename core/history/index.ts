export { conversationKey } from './key.js';
export { trimHistory, type HistoryLimits } from './trim.js';
export { openHistoryStore, historyScheme, redactUrl, HISTORY_NAMESPACE, SUPPORTED_STORES, type HistoryStore } from './store.js';
