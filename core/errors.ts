/**
 * The one base of banter's errors: a stable machine-readable `code` beside a message a user can act
 * on, so that callers (adapters, embedding programs, tests) branch on codes, not on message text.
 */
export class BanterError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A plugin's hook failed: which plugin, in which stage, and the error it threw. */
export class PluginError extends BanterError {
  constructor(
    readonly plugin: string,
    readonly stage: string,
    cause: unknown,
  ) {
    super('plugin_failed', `plugin "${plugin}" failed in its ${stage} hook: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
