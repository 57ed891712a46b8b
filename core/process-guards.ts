/**
 * Process-level error policy for a running bot: an error that escaped every handler is logged and
 * the process keeps serving, so one adapter's bad request never takes the others down. A burst of
 * uncaught exceptions (state may be broken beyond what a log line can tell) ends the process
 * through `onFatal`, after a graceful stop, so a supervisor can start it afresh.
 */
import type { Logger } from './log.js';

export interface ProcessGuardOptions {
  logger: Logger;
  /** Called once when uncaught exceptions come faster than the policy allows. */
  onFatal: (error: unknown) => void;
  /** More than this many uncaught exceptions within `windowMs` are fatal; default 10 in a minute. */
  maxUncaught?: number;
  windowMs?: number;
}

/** Installs the handlers; returns a function that removes them. */
export function installProcessGuards(options: ProcessGuardOptions): () => void {
  const { logger, onFatal, maxUncaught = 10, windowMs = 60_000 } = options;
  const recent: number[] = [];
  let fatal = false;
  const onRejection = (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection (the process keeps running)');
  };
  const onException = (error: Error) => {
    const now = Date.now();
    recent.push(now);
    while (recent.length > 0 && recent[0] <= now - windowMs) recent.shift();
    if (recent.length > maxUncaught) {
      if (fatal) return;
      fatal = true;
      logger.fatal({ err: error, count: recent.length, windowMs }, 'uncaught exceptions keep coming: stopping');
      onFatal(error);
      return;
    }
    logger.error({ err: error }, 'uncaught exception (the process keeps running)');
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
