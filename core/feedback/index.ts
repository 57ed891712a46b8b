/** Feedback: the store, the recorder the bot uses, preference pairs and the selection-weight fit. */
export { FeedbackRecorder, FEEDBACK_MESSAGES } from './recorder.js';
export { openFeedbackStore, type FeedbackStore } from './store.js';
export { preferencePairs, pairRecord, pairsJsonl, type PairFormat, type PreferencePair } from './pairs.js';
export { fitBradleyTerry, heldOut, informativeFeatures, pairwiseAccuracy, scoredPairs, tuneSelection, type FitResult, type ScoredPair, type TuneOptions, type TuneReport } from './tune.js';
export { turnRecord } from './record.js';
export type { CandidateRecord, FeedbackEntry, TurnRecord } from './types.js';
export { roundWeights, writeSelectionWeights } from './weights-file.js';
