/** Ordinary chat messages the benchmarks send, the same for every bench so their figures compare. */
export const CHAT_MESSAGES = [
  'Hi! How are you doing today?',
  'What is the tallest mountain in the world?',
  'Do you like listening to music when you work?',
  'I just got back from a long hike and my legs hurt.',
  'Can you recommend a good book for a rainy weekend?',
  'What did you have for breakfast this morning?',
  'Have you ever been to the seaside?',
];
