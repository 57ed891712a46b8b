/** banter's public API: build a bot from a config, or use the pieces. */
export { Bot, createBot, type BotOptions, type Deliver } from './bot.js';
export { builtinCommands, parseCommand } from './commands.js';
export { EventBus } from './events.js';
export { createLogger, type Logger } from './log.js';
export { KeyedSerialQueue, Semaphore } from './queue.js';
export { selectCandidate, weightedTotal } from './selection.js';
export { createEngineServer, startEngineServer, type EngineServer, type ServeOptions } from './serve/index.js';
export { cleanText } from './text.js';
export * from './types.js';
export type * from './config/types.js';
export type * from './engine/types.js';
